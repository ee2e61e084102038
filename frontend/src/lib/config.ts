/** The gateway's URL: VITE_SENTIVIS_SOCKET_URL at build time, else the page's own origin. */
export function gatewayUrl(): string {
  const configured = (import.meta.env.VITE_SENTIVIS_SOCKET_URL as string | undefined)?.trim();
  return (configured || window.location.origin).replace(/\/+$/, "");
}

// Frames in flight, their timeout and the rate limit come from the gateway (lib/limits.ts).
export const SOCKET_PATH = "/socket.io";
export const FRAME_WIDTH = 320;
export const FRAME_HEIGHT = 240;
export const DEFAULT_FPS = 10;
export const FPS_CHOICES = [5, 10, 15, 20, 30] as const;
export const JPEG_QUALITY = 0.8;
