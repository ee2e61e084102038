import type { Box } from "./types";
import { EMOTION_COLORS, type Face } from "./types";

export interface PlacedFace {
  face: Face;
  box: Box; // element (CSS) pixels
}

export function faceCaption(face: Face): string {
  if (!face.emotion) return `#${face.id} · face`;
  return `#${face.id} · ${face.emotion.label} ${Math.round(face.emotion.confidence * 100)}%`;
}

/** Draws each face's box and caption on a canvas sized `width` x `height` CSS pixels. */
export function drawFaces(canvas: HTMLCanvasElement, width: number, height: number, faces: readonly PlacedFace[]): void {
  const dpr = window.devicePixelRatio || 1;
  const w = Math.max(1, Math.round(width * dpr));
  const h = Math.max(1, Math.round(height * dpr));
  if (canvas.width !== w || canvas.height !== h) {
    canvas.width = w;
    canvas.height = h;
  }
  const ctx = canvas.getContext("2d");
  if (!ctx) return;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, width, height);
  const fontSize = Math.max(12, Math.min(18, width / 45));
  ctx.font = `600 ${fontSize}px Inter, system-ui, sans-serif`;
  ctx.textBaseline = "middle";
  for (const { face, box } of faces) {
    const colour = face.emotion ? EMOTION_COLORS[face.emotion.label] : "#e2e8f0";
    ctx.lineWidth = 3;
    ctx.strokeStyle = "rgba(0,0,0,0.55)";
    ctx.strokeRect(box.x, box.y, box.width, box.height);
    ctx.lineWidth = 2;
    ctx.strokeStyle = colour;
    ctx.strokeRect(box.x, box.y, box.width, box.height);
    // Corner ticks make the box readable on busy backgrounds.
    const tick = Math.min(14, box.width / 4, box.height / 4);
    ctx.lineWidth = 4;
    ctx.beginPath();
    for (const [cx, cy, dx, dy] of [
      [box.x, box.y, 1, 1], [box.x + box.width, box.y, -1, 1],
      [box.x, box.y + box.height, 1, -1], [box.x + box.width, box.y + box.height, -1, -1],
    ]) {
      ctx.moveTo(cx + dx * tick, cy);
      ctx.lineTo(cx, cy);
      ctx.lineTo(cx, cy + dy * tick);
    }
    ctx.stroke();
    const caption = faceCaption(face);
    const pad = 6;
    const tw = ctx.measureText(caption).width + pad * 2;
    const th = fontSize + pad * 1.5;
    const tx = Math.min(Math.max(0, box.x), Math.max(0, width - tw));
    const above = box.y - th - 4;
    const ty = above >= 0 ? above : Math.min(height - th, box.y + box.height + 4);
    ctx.fillStyle = "rgba(10, 14, 26, 0.82)";
    roundRect(ctx, tx, ty, tw, th, 6);
    ctx.fill();
    ctx.fillStyle = colour;
    ctx.fillRect(tx, ty + 4, 3, th - 8);
    ctx.fillStyle = "#f8fafc";
    ctx.fillText(caption, tx + pad + 2, ty + th / 2);
  }
}

function roundRect(ctx: CanvasRenderingContext2D, x: number, y: number, w: number, h: number, r: number) {
  ctx.beginPath();
  ctx.moveTo(x + r, y);
  ctx.arcTo(x + w, y, x + w, y + h, r);
  ctx.arcTo(x + w, y + h, x, y + h, r);
  ctx.arcTo(x, y + h, x, y, r);
  ctx.arcTo(x, y, x + w, y, r);
  ctx.closePath();
}
