import { describe, expect, it } from "vitest";
import { FPS_CHOICES } from "./config";
import { InFlight } from "./inFlight";
import { SLOT_MARGIN_MS, cappedFps, fpsOptions, frameTooBig, slotTimeoutMs, type GatewayLimits } from "./limits";

const LIMITS: GatewayLimits = {
  max_in_flight: 3, frame_timeout_ms: 3_000, max_frames_per_second: 12, max_frame_bytes: 50_000, max_frame_pixels: 640 * 480,
};

describe("gateway limits", () => {
  it("frees a slot only after the gateway's own timeout", () => {
    const f = new InFlight(LIMITS.max_in_flight, slotTimeoutMs(LIMITS));
    for (const id of [1, 2, 3]) f.sent(id, 0);
    // The gateway gives the frames up at 3 s; until its timeout error arrives it still counts them.
    expect(f.canSend(LIMITS.frame_timeout_ms)).toBe(false);
    expect(f.canSend(LIMITS.frame_timeout_ms + SLOT_MARGIN_MS - 1)).toBe(false);
    expect(f.lost).toBe(0);
    expect(f.canSend(LIMITS.frame_timeout_ms + SLOT_MARGIN_MS)).toBe(true);
    expect(f.lost).toBe(3);
  });

  it("holds as many frames as the gateway allows in flight", () => {
    const f = new InFlight(LIMITS.max_in_flight, slotTimeoutMs(LIMITS));
    for (let id = 0; id < LIMITS.max_in_flight; id++) {
      expect(f.canSend(id)).toBe(true);
      f.sent(id, id);
    }
    expect(f.canSend(10)).toBe(false);
  });

  it("disables frame rates above the gateway's limit", () => {
    expect(fpsOptions(FPS_CHOICES, LIMITS)).toEqual(FPS_CHOICES.map((fps) => ({ fps, allowed: fps <= 12 })));
    expect(fpsOptions(FPS_CHOICES, { ...LIMITS, max_frames_per_second: 0 }).every((o) => o.allowed)).toBe(true);
    expect(fpsOptions(FPS_CHOICES, null).every((o) => o.allowed)).toBe(true);
  });

  it("caps the chosen rate at the fastest allowed choice", () => {
    expect(cappedFps(30, FPS_CHOICES, LIMITS)).toBe(10);
    expect(cappedFps(5, FPS_CHOICES, LIMITS)).toBe(5);
    expect(cappedFps(30, FPS_CHOICES, { ...LIMITS, max_frames_per_second: 30 })).toBe(30);
    expect(cappedFps(30, FPS_CHOICES, { ...LIMITS, max_frames_per_second: 0 })).toBe(30);
    expect(cappedFps(10, FPS_CHOICES, { ...LIMITS, max_frames_per_second: 2.5 })).toBe(2.5);
    expect(cappedFps(30, FPS_CHOICES, null)).toBe(30);
  });

  it("says why a frame is too big to send", () => {
    expect(frameTooBig(LIMITS, 50_000, 320, 240)).toBeNull();
    expect(frameTooBig(LIMITS, 50_001, 320, 240)).toBe("the frame is 50001 bytes; the gateway takes at most 50000");
    expect(frameTooBig(LIMITS, 10, 1000, 1000)).toBe("the frame is 1000x1000 pixels; the gateway takes at most 307200 pixels");
  });
});
