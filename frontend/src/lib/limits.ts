// The limits the gateway announces on connect (its `limits` event) and what the page makes of them.

export interface GatewayLimits {
  max_in_flight: number;
  frame_timeout_ms: number;
  /** Frames per second per connection; 0 means no limit. */
  max_frames_per_second: number;
  max_frame_bytes: number;
  max_frame_pixels: number;
}

/**
 * How long after the gateway's own timeout the page gives up on a frame. The gateway frees the
 * slot and sends `frame_error` "timeout" at its timeout (its sweeper looks every 100 ms); the
 * page waits a little longer, so it never sends into a slot the server still counts.
 */
export const SLOT_MARGIN_MS = 500;

export function slotTimeoutMs(limits: GatewayLimits): number {
  return limits.frame_timeout_ms + SLOT_MARGIN_MS;
}

export interface FpsOption {
  fps: number;
  allowed: boolean;
}

/** The page's frame-rate choices, those above the gateway's rate limit marked as not allowed. */
export function fpsOptions(choices: readonly number[], limits: GatewayLimits | null): FpsOption[] {
  const max = limits?.max_frames_per_second ?? 0;
  return choices.map((fps) => ({ fps, allowed: max <= 0 || fps <= max }));
}

/**
 * The frame rate to send at: the chosen one, or the fastest allowed choice below the gateway's
 * limit; the limit itself when even the slowest choice is above it.
 */
export function cappedFps(fps: number, choices: readonly number[], limits: GatewayLimits | null): number {
  const max = limits?.max_frames_per_second ?? 0;
  if (max <= 0 || fps <= max) return fps;
  const allowed = choices.filter((c) => c <= max);
  return allowed.length ? Math.max(...allowed) : max;
}

/** Why a frame would be refused by the gateway before it is sent, or null when it fits. */
export function frameTooBig(limits: GatewayLimits, bytes: number, width: number, height: number): string | null {
  if (bytes > limits.max_frame_bytes) return `the frame is ${bytes} bytes; the gateway takes at most ${limits.max_frame_bytes}`;
  if (width * height > limits.max_frame_pixels)
    return `the frame is ${width}x${height} pixels; the gateway takes at most ${limits.max_frame_pixels} pixels`;
  return null;
}
