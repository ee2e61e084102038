/** The gateway's URL: VITE_SENTIVIS_SOCKET_URL at build time, else the page's own origin. */
export function gatewayUrl(): string {
  const configured = (import.meta.env.VITE_SENTIVIS_SOCKET_URL as string | undefined)?.trim();
  return (configured || window.location.origin).replace(/\/+$/, "");
}

// Frames in flight, their timeout and the rate limit come from the gateway (lib/limits.ts).
// The gateway's MessagePack endpoint (a frame is one binary message); any client with the default
// parser uses /socket.io (docs/PROTOCOL.md).
export const SOCKET_PATH = "/socket.io-msgpack";
export const FRAME_WIDTH = 320;
export const FRAME_HEIGHT = 240;
export const DEFAULT_FPS = 10;
export const FPS_CHOICES = [5, 10, 15, 20, 30] as const;
export const JPEG_QUALITY = 0.8;

// People on the page (lib/people.ts, lib/sessionLog.ts).
/** A person the detector misses this long still counts as in view (the tracker itself coasts 1 s). */
export const IN_VIEW_GRACE_MS = 1_000;
/** A person out of view this long is dropped from the "recently seen" list. */
export const RECENTLY_SEEN_MS = 60_000;
/** The most people the page keeps at once, in view or recently seen. */
export const MAX_PEOPLE = 24;
/** Two sightings further apart than this: the person was away in between (not "in view" time). */
export const SIGHTING_GAP_MS = 1_000;
/** The most rows the downloadable session timeline keeps (the oldest go first): about 80 minutes of one face at 10 fps. */
export const MAX_TIMELINE_ROWS = 50_000;
