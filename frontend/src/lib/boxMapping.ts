import type { Box } from "./types";
export type { Box };

/** How a video (or image) of `source` size is drawn into an element of `element` size. */
export type ObjectFit = "contain" | "cover" | "fill";

export interface Size {
  width: number;
  height: number;
}

/** Where the content lands inside the element: scale per axis and offset, in CSS pixels. */
export interface Placement {
  scaleX: number;
  scaleY: number;
  offsetX: number;
  offsetY: number;
}

export function placement(source: Size, element: Size, fit: ObjectFit): Placement {
  if (source.width <= 0 || source.height <= 0 || element.width <= 0 || element.height <= 0) {
    return { scaleX: 0, scaleY: 0, offsetX: 0, offsetY: 0 };
  }
  if (fit === "fill") {
    return { scaleX: element.width / source.width, scaleY: element.height / source.height, offsetX: 0, offsetY: 0 };
  }
  const sx = element.width / source.width;
  const sy = element.height / source.height;
  const scale = fit === "contain" ? Math.min(sx, sy) : Math.max(sx, sy);
  return {
    scaleX: scale,
    scaleY: scale,
    offsetX: (element.width - source.width * scale) / 2,
    offsetY: (element.height - source.height * scale) / 2,
  };
}

/**
 * Maps a box in frame pixels (the frame the server saw, `frame` size) to element pixels.
 * The frame may differ in size from the displayed source (the server reports its own width and
 * height); `mirrored` flips it horizontally, as a selfie view does, so the box follows the face.
 */
export function mapBox(box: Box, frame: Size, element: Size, fit: ObjectFit, mirrored: boolean): Box {
  const p = placement(frame, element, fit);
  const x = mirrored ? frame.width - (box.x + box.width) : box.x;
  return {
    x: p.offsetX + x * p.scaleX,
    y: p.offsetY + box.y * p.scaleY,
    width: box.width * p.scaleX,
    height: box.height * p.scaleY,
  };
}

/** A rectangle in source (video) pixels. */
export type Rect = Box;

/** The largest centred region of `source` with the given aspect ratio (width / height). */
export function centreCrop(source: Size, aspect: number): Rect {
  if (source.width <= 0 || source.height <= 0 || !(aspect > 0)) return { x: 0, y: 0, width: 0, height: 0 };
  if (source.width / source.height > aspect) {
    const width = source.height * aspect;
    return { x: (source.width - width) / 2, y: 0, width, height: source.height };
  }
  const height = source.width / aspect;
  return { x: 0, y: (source.height - height) / 2, width: source.width, height };
}

/**
 * Maps a box in the pixels of a captured frame (`frame` size, cut from `crop` of the video) to
 * element pixels of a video shown with `fit`, optionally mirrored. The mirror flips the whole
 * video, so it is applied in video pixels, after undoing the crop.
 */
export function mapFrameBoxToVideo(box: Box, frame: Size, crop: Rect, video: Size, element: Size,
                                   fit: ObjectFit, mirrored: boolean): Box {
  const sx = frame.width > 0 ? crop.width / frame.width : 0;
  const sy = frame.height > 0 ? crop.height / frame.height : 0;
  const inVideo = { x: crop.x + box.x * sx, y: crop.y + box.y * sy, width: box.width * sx, height: box.height * sy };
  return mapBox(inVideo, video, element, fit, mirrored);
}
