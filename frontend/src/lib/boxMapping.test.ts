import { describe, expect, it } from "vitest";
import { centreCrop, mapBox, mapFrameBoxToVideo, placement } from "./boxMapping";

const frame = { width: 320, height: 240 };
const box = { x: 20, y: 40, width: 60, height: 80 };

describe("placement", () => {
  it("letterboxes a 4:3 frame in a wide element with contain", () => {
    expect(placement(frame, { width: 800, height: 480 }, "contain")).toEqual({
      scaleX: 2, scaleY: 2, offsetX: 80, offsetY: 0,
    });
  });

  it("crops a 4:3 frame in a wide element with cover", () => {
    expect(placement(frame, { width: 800, height: 480 }, "cover")).toEqual({
      scaleX: 2.5, scaleY: 2.5, offsetX: 0, offsetY: -60,
    });
  });

  it("stretches each axis with fill", () => {
    expect(placement(frame, { width: 640, height: 120 }, "fill")).toEqual({
      scaleX: 2, scaleY: 0.5, offsetX: 0, offsetY: 0,
    });
  });

  it("collapses to nothing for an element or frame with no size", () => {
    expect(placement(frame, { width: 0, height: 480 }, "contain").scaleX).toBe(0);
    expect(placement({ width: 0, height: 0 }, { width: 640, height: 480 }, "cover").scaleY).toBe(0);
  });
});

describe("mapBox", () => {
  it("scales a box at the frame's own aspect ratio", () => {
    expect(mapBox(box, frame, { width: 640, height: 480 }, "contain", false)).toEqual({
      x: 40, y: 80, width: 120, height: 160,
    });
  });

  it("flips the box horizontally when the view is mirrored", () => {
    // The box spans x 20..80 of 320; mirrored it spans 240..300.
    expect(mapBox(box, frame, { width: 320, height: 240 }, "contain", true)).toEqual({
      x: 240, y: 40, width: 60, height: 80,
    });
  });

  it("mirrors then letterboxes in a wide element", () => {
    // contain in 800x480: scale 2, offset x 80; mirrored x = 240 -> 80 + 480.
    expect(mapBox(box, frame, { width: 800, height: 480 }, "contain", true)).toEqual({
      x: 560, y: 80, width: 120, height: 160,
    });
  });

  it("mirrors then crops in a wide element with cover", () => {
    // cover in 800x480: scale 2.5, offset y -60; mirrored x = 240 -> 600.
    expect(mapBox(box, frame, { width: 800, height: 480 }, "cover", true)).toEqual({
      x: 600, y: 40, width: 150, height: 200,
    });
  });

  it("keeps a centred box centred under mirroring at any size", () => {
    const centred = { x: 130, y: 90, width: 60, height: 60 };
    for (const element of [{ width: 300, height: 500 }, { width: 1920, height: 1080 }, { width: 333, height: 250 }]) {
      const m = mapBox(centred, frame, element, "contain", true);
      const n = mapBox(centred, frame, element, "contain", false);
      expect(m.x).toBeCloseTo(n.x, 9);
      expect(m.x + m.width / 2).toBeCloseTo(element.width / 2, 9);
    }
  });

  it("places a box by the server's frame size, not the element's", () => {
    // The server saw a 640x480 frame; the box is in those pixels.
    const big = { x: 40, y: 80, width: 120, height: 160 };
    expect(mapBox(big, { width: 640, height: 480 }, { width: 320, height: 240 }, "contain", false)).toEqual(
      { x: 20, y: 40, width: 60, height: 80 },
    );
  });
});

describe("centreCrop", () => {
  it("cuts the sides of a 16:9 video to 4:3", () => {
    expect(centreCrop({ width: 1280, height: 720 }, 4 / 3)).toEqual({ x: 160, y: 0, width: 960, height: 720 });
  });

  it("cuts top and bottom of a portrait video to 4:3", () => {
    expect(centreCrop({ width: 480, height: 640 }, 4 / 3)).toEqual({ x: 0, y: 140, width: 480, height: 360 });
  });

  it("keeps a 4:3 video whole", () => {
    expect(centreCrop({ width: 640, height: 480 }, 4 / 3)).toEqual({ x: 0, y: 0, width: 640, height: 480 });
  });
});

describe("mapFrameBoxToVideo", () => {
  it("undoes the capture crop and scale before mirroring and fitting", () => {
    // A 1280x720 camera, captured as its centre 960x720 scaled to 320x240 (factor 3).
    const video = { width: 1280, height: 720 };
    const crop = centreCrop(video, 4 / 3);
    const inFrame = { x: 20, y: 40, width: 60, height: 80 };
    // In video pixels: x 160 + 60 = 220, y 120, 180x240. Mirrored: x = 1280 - 400 = 880.
    // Shown with contain in a 640x360 element: scale 0.5, no offset.
    expect(mapFrameBoxToVideo(inFrame, frame, crop, video, { width: 640, height: 360 }, "contain", true)).toEqual({
      x: 440, y: 60, width: 90, height: 120,
    });
    expect(mapFrameBoxToVideo(inFrame, frame, crop, video, { width: 640, height: 360 }, "contain", false)).toEqual({
      x: 110, y: 60, width: 90, height: 120,
    });
  });
});
