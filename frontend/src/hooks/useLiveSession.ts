import { useCallback, useEffect, useRef, useState } from "react";
import { io, type Socket } from "socket.io-client";
import { centreCrop, type Rect, type Size } from "../lib/boxMapping";
import {
  FRAME_HEIGHT, FRAME_TIMEOUT_MS, FRAME_WIDTH, JPEG_QUALITY, MAX_IN_FLIGHT, SOCKET_PATH, gatewayUrl,
} from "../lib/config";
import { InFlight } from "../lib/inFlight";
import { RateMeter, RecentSamples } from "../lib/stats";
import { Timeline } from "../lib/timeline";
import { TOKEN_CHANGED, currentToken } from "../lib/token";
import type { FrameError, Inference, Latency } from "../lib/types";

export type ConnectionState = "connecting" | "connected" | "reconnecting" | "disconnected" | "unauthorized" | "refused";

export interface Connection {
  state: ConnectionState;
  attempt: number;
  error: string | null;
}

/** The last answer and what is needed to draw it over the video it came from. */
export interface LiveResult {
  inference: Inference;
  receivedAt: number;
  crop: Rect;
  video: Size;
}

export interface LiveStats {
  rtt: ReturnType<RecentSamples["summary"]>;
  stages: Record<keyof Latency, number>;
  sentPerSecond: number;
  receivedPerSecond: number;
  droppedPerSecond: number;
  totals: { sent: number; received: number; errors: number; lost: number; serverDropped: number };
}

const STAGES: (keyof Latency)[] = ["server_ms", "queue_ms", "decode_ms", "detect_ms", "classify_ms"];

/**
 * One Socket.IO connection to the gateway and the camera capture loop that feeds it, with the
 * bookkeeping the page shows: results, per-face timelines, latency and rates.
 */
export function useLiveSession(video: React.RefObject<HTMLVideoElement | null>, streaming: boolean, fps: number) {
  const [connection, setConnection] = useState<Connection>({ state: "connecting", attempt: 0, error: null });
  const [result, setResult] = useState<LiveResult | null>(null);
  const [lastError, setLastError] = useState<FrameError | null>(null);
  const [stats, setStats] = useState<LiveStats | null>(null);
  const socketRef = useRef<Socket | null>(null);
  const book = useRef({
    inFlight: new InFlight(MAX_IN_FLIGHT, FRAME_TIMEOUT_MS),
    rtt: new RecentSamples(100),
    stages: Object.fromEntries(STAGES.map((s) => [s, new RecentSamples(100)])) as Record<keyof Latency, RecentSamples>,
    sent: new RateMeter(2_000),
    received: new RateMeter(2_000),
    dropped: new RateMeter(2_000),
    totals: { sent: 0, received: 0, errors: 0, lost: 0, serverDropped: 0 },
    crops: new Map<number, { crop: Rect; video: Size }>(),
    nextFrameId: 1,
    encoding: false,
    timeline: new Timeline(60_000),
  });

  const snapshot = useCallback((): LiveStats => {
    const b = book.current;
    const now = Date.now();
    return {
      rtt: b.rtt.summary(),
      stages: Object.fromEntries(STAGES.map((s) => [s, b.stages[s].summary().median])) as Record<keyof Latency, number>,
      sentPerSecond: b.sent.perSecond(now),
      receivedPerSecond: b.received.perSecond(now),
      droppedPerSecond: b.dropped.perSecond(now),
      totals: { ...b.totals, lost: b.inFlight.lost },
    };
  }, []);

  // The connection lives as long as the page; socket.io-client reconnects on its own.
  useEffect(() => {
    // auth as a function: every (re)connect sends the token as it is now.
    const socket = io(gatewayUrl(), {
      path: SOCKET_PATH, reconnectionDelayMax: 5_000,
      auth: (cb) => cb(currentToken() ? { token: currentToken() } : {}),
    });
    socketRef.current = socket;
    const b = book.current;
    socket.on("connect", () => setConnection({ state: "connected", attempt: 0, error: null }));
    socket.on("disconnect", (reason) => {
      b.inFlight.clear();
      // Socket.IO retries on its own except after an explicit disconnect by either side.
      const final = reason === "io client disconnect" || reason === "io server disconnect";
      setConnection({ state: final ? "disconnected" : "reconnecting", attempt: 0, error: `Connection lost (${reason}).` });
    });
    socket.on("connect_error", (err) => {
      // The server refused us (it does not retry on its own) or it cannot be reached (it retries).
      if (!socket.active) {
        const unauthorized = /unauthori[sz]ed/i.test(err.message);
        setConnection({ state: unauthorized ? "unauthorized" : "refused", attempt: 0,
                        error: unauthorized ? "The gateway needs an access token." : `The gateway refused the connection: ${err.message}` });
        return;
      }
      setConnection((c) => ({ ...c, state: c.state === "connecting" ? "connecting" : "reconnecting",
                               error: `Cannot reach the gateway at ${gatewayUrl()} (${err.message}).` }));
    });
    const onToken = () => {
      if (!socket.connected) {
        setConnection({ state: "connecting", attempt: 0, error: null });
        socket.connect();
      }
    };
    window.addEventListener(TOKEN_CHANGED, onToken);
    socket.io.on("reconnect_attempt", (attempt) => setConnection((c) => ({ ...c, state: "reconnecting", attempt })));
    socket.io.on("reconnect_failed", () => setConnection((c) => ({ ...c, state: "disconnected" })));

    socket.on("inference", (inference: Inference) => {
      const now = Date.now();
      const rtt = b.inFlight.settle(inference.frame_id, now);
      if (rtt !== null) b.rtt.add(rtt);
      for (const s of STAGES) {
        const v = inference.latency?.[s];
        if (typeof v === "number") b.stages[s].add(v);
      }
      b.received.mark(now);
      b.totals.received++;
      b.totals.serverDropped = inference.dropped_frames ?? b.totals.serverDropped;
      b.timeline.add(inference.faces ?? [], now);
      const frame = b.crops.get(inference.frame_id);
      b.crops.delete(inference.frame_id);
      const v = video.current;
      const videoSize = frame?.video ?? { width: v?.videoWidth ?? FRAME_WIDTH, height: v?.videoHeight ?? FRAME_HEIGHT };
      setResult({ inference, receivedAt: now, crop: frame?.crop ?? centreCrop(videoSize, FRAME_WIDTH / FRAME_HEIGHT),
                  video: videoSize });
      setStats(snapshot());
    });
    socket.on("frame_error", (error: FrameError) => {
      const now = Date.now();
      b.inFlight.settle(error.frame_id, now);
      if (error.frame_id !== null) b.crops.delete(error.frame_id);
      b.dropped.mark(now);
      b.totals.errors++;
      setLastError({ ...error });
      setStats(snapshot());
    });
    return () => {
      window.removeEventListener(TOKEN_CHANGED, onToken);
      socket.removeAllListeners();
      socket.io.removeAllListeners();
      socket.disconnect();
      socketRef.current = null;
    };
  }, [snapshot, video]);

  // Capture loop: a 320x240 JPEG of the centre 4:3 of the camera, at most MAX_IN_FLIGHT unanswered.
  useEffect(() => {
    if (!streaming) return;
    const canvas = document.createElement("canvas");
    canvas.width = FRAME_WIDTH;
    canvas.height = FRAME_HEIGHT;
    const ctx = canvas.getContext("2d");
    const b = book.current;
    const tick = () => {
      const socket = socketRef.current;
      const v = video.current;
      const now = Date.now();
      const lostBefore = b.inFlight.lost;
      const free = b.inFlight.canSend(now);
      if (b.inFlight.lost > lostBefore) b.dropped.mark(now, b.inFlight.lost - lostBefore);
      if (!ctx || !socket?.connected || !v || v.readyState < 2 || !v.videoWidth || b.encoding || !free) return;
      const videoSize = { width: v.videoWidth, height: v.videoHeight };
      const crop = centreCrop(videoSize, FRAME_WIDTH / FRAME_HEIGHT);
      ctx.drawImage(v, crop.x, crop.y, crop.width, crop.height, 0, 0, FRAME_WIDTH, FRAME_HEIGHT);
      const frameId = b.nextFrameId++;
      b.encoding = true;
      b.inFlight.sent(frameId, now); // reserve the slot before the asynchronous encode
      canvas.toBlob(async (blob) => {
        try {
          if (!blob || !socket.connected) {
            b.inFlight.settle(frameId, Date.now());
            return;
          }
          const image = await blob.arrayBuffer();
          const sentAt = Date.now();
          b.inFlight.settle(frameId, sentAt);
          b.inFlight.sent(frameId, sentAt); // the round trip starts when the bytes leave
          b.crops.set(frameId, { crop, video: videoSize });
          if (b.crops.size > 64) b.crops.delete(b.crops.keys().next().value as number);
          socket.emit("frame", { frame_id: frameId, image, sent_at: sentAt });
          b.sent.mark(sentAt);
          b.totals.sent++;
        } finally {
          b.encoding = false;
        }
      }, "image/jpeg", JPEG_QUALITY);
    };
    const timer = window.setInterval(tick, Math.max(1, Math.round(1000 / fps)));
    // Rates fall to zero when nothing arrives, so refresh them even without events.
    const refresh = window.setInterval(() => setStats(snapshot()), 500);
    return () => {
      window.clearInterval(timer);
      window.clearInterval(refresh);
    };
  }, [streaming, fps, video, snapshot]);

  const reconnect = useCallback(() => {
    const socket = socketRef.current;
    if (socket && !socket.connected) {
      setConnection({ state: "connecting", attempt: 0, error: null });
      socket.connect();
    }
  }, []);

  return { connection, result, lastError, stats, timeline: book.current.timeline, reconnect };
}
