import { useEffect, useRef } from "react";
import type { Socket } from "socket.io-client";
import { centreCrop, type Rect, type Size } from "../lib/boxMapping";
import { FRAME_HEIGHT, FRAME_WIDTH, JPEG_QUALITY } from "../lib/config";
import type { InFlight } from "../lib/inFlight";
import { frameTooBig, type GatewayLimits } from "../lib/limits";
import type { LiveStatsBook } from "../lib/liveStats";
import type { FrameError } from "../lib/types";

/** Where a sent frame came from in the video, to draw its answer over the right place. */
export interface SentFrame {
  crop: Rect;
  video: Size;
}

interface Capture {
  video: React.RefObject<HTMLVideoElement | null>;
  socket: Socket | null;
  streaming: boolean;
  fps: number;
  limits: GatewayLimits | null;
  /** Frames in flight, sized by the gateway's limits; null until it announced them. */
  inFlight: InFlight<SentFrame> | null;
  stats: LiveStatsBook;
  /** A frame the page did not send because the gateway would refuse it. */
  onRefused: (error: FrameError) => void;
}

/**
 * The capture loop: at `fps`, a 320x240 JPEG of the centre 4:3 of the camera, sent as binary
 * while fewer frames than the gateway allows are unanswered.
 */
export function useFrameCapture({ video, socket, streaming, fps, limits, inFlight, stats, onRefused }: Capture) {
  const nextFrameId = useRef(1); // frame ids stay unique across restarts of the loop (a new rate, a reconnect)
  useEffect(() => {
    if (!streaming || !socket || !limits || !inFlight) return;
    const canvas = document.createElement("canvas");
    canvas.width = FRAME_WIDTH;
    canvas.height = FRAME_HEIGHT;
    const ctx = canvas.getContext("2d");
    let encoding = false;
    const tick = () => {
      const v = video.current;
      const now = Date.now();
      const lostBefore = inFlight.lost;
      const free = inFlight.canSend(now);
      stats.lost(inFlight.lost - lostBefore, now);
      if (!ctx || !socket.connected || !v || v.readyState < 2 || !v.videoWidth || encoding || !free) return;
      const frame = { crop: centreCrop({ width: v.videoWidth, height: v.videoHeight }, FRAME_WIDTH / FRAME_HEIGHT),
                      video: { width: v.videoWidth, height: v.videoHeight } };
      ctx.drawImage(v, frame.crop.x, frame.crop.y, frame.crop.width, frame.crop.height, 0, 0, FRAME_WIDTH, FRAME_HEIGHT);
      const frameId = nextFrameId.current++;
      encoding = true;
      inFlight.sent(frameId, now, frame); // reserve the slot before the asynchronous encode
      canvas.toBlob(async (blob) => {
        try {
          inFlight.settle(frameId, Date.now());
          if (!blob || !socket.connected) return;
          const refusal = frameTooBig(limits, blob.size, FRAME_WIDTH, FRAME_HEIGHT);
          if (refusal) return onRefused({ frame_id: frameId, code: "frame_too_large", message: refusal });
          const image = await blob.arrayBuffer();
          const sentAt = Date.now();
          inFlight.sent(frameId, sentAt, frame); // the round trip starts when the bytes leave
          socket.emit("frame", { frame_id: frameId, image });
          stats.sent(sentAt);
        } finally {
          encoding = false;
        }
      }, "image/jpeg", JPEG_QUALITY);
    };
    const timer = window.setInterval(tick, Math.max(1, Math.round(1000 / fps)));
    return () => window.clearInterval(timer);
  }, [video, socket, streaming, fps, limits, inFlight, stats, onRefused]);
}
