import { useCallback, useEffect, useMemo, useState } from "react";
import { centreCrop, type Rect, type Size } from "../lib/boxMapping";
import { FPS_CHOICES, FRAME_HEIGHT, FRAME_WIDTH } from "../lib/config";
import { InFlight } from "../lib/inFlight";
import { cappedFps, slotTimeoutMs } from "../lib/limits";
import type { FrameError, Inference } from "../lib/types";
import { useAdaptiveRate } from "./useAdaptiveRate";
import { useFrameCapture, type SentFrame } from "./useFrameCapture";
import { useGatewaySocket } from "./useGatewaySocket";
import { useLiveStats } from "./useLiveStats";
import { usePeople } from "./usePeople";
import { useRecording } from "./useRecording";

/** The last answer and what is needed to draw it over the video it came from. */
export interface LiveResult {
  inference: Inference;
  receivedAt: number;
  crop: Rect;
  video: Size;
}

/**
 * A live session: the gateway connection, the capture loop that feeds it within the gateway's
 * limits (in flight, timeout, frame rate: `fps` is capped at its rate limit) and at the rate it
 * can serve now (`rate`: lowered on `overloaded` and slow round trips, raised on recovery), and
 * what the page shows of the answers (the last result, the people in it and over the session, stats),
 * and the Record switch (a recorded session of this connection's answers, with consent).
 */
export function useLiveSession(video: React.RefObject<HTMLVideoElement | null>, streaming: boolean, fps: number) {
  const { socket, connection, limits, reconnect } = useGatewaySocket();
  const { book, stats, refresh } = useLiveStats(streaming);
  const people = usePeople(socket);
  const recording = useRecording(socket);
  const { record } = people;
  const [result, setResult] = useState<LiveResult | null>(null);
  const [lastError, setLastError] = useState<FrameError | null>(null);
  // Announced again on every (re)connect: a fresh book of frames in flight each time.
  const inFlight = useMemo(() => limits && new InFlight<SentFrame>(limits.max_in_flight, slotTimeoutMs(limits)), [limits]);
  const chosenFps = cappedFps(fps, FPS_CHOICES, limits);
  const rate = useAdaptiveRate(chosenFps, streaming);
  const { answered, overloaded } = rate;

  const refused = useCallback((error: FrameError) => {
    book.rejected(Date.now());
    setLastError({ ...error });
    refresh();
  }, [book, refresh]);

  useEffect(() => {
    if (!socket || !inFlight) return;
    const onInference = (answer: Inference) => {
      const now = Date.now();
      const inference = record(answer, now); // with the session's person ids, from here on
      const sent = inFlight.settle(inference.frame_id, now);
      book.answered(inference, sent?.rtt ?? null, now);
      if (sent) answered(sent.rtt);
      const v = video.current;
      const videoSize = sent?.info.video ?? { width: v?.videoWidth || FRAME_WIDTH, height: v?.videoHeight || FRAME_HEIGHT };
      setResult({ inference, receivedAt: now, video: videoSize,
                  crop: sent?.info.crop ?? centreCrop(videoSize, FRAME_WIDTH / FRAME_HEIGHT) });
      refresh();
    };
    const onFrameError = (error: FrameError) => {
      inFlight.settle(error.frame_id, Date.now());
      if (error.code === "overloaded") overloaded();
      refused(error);
    };
    const onDisconnect = () => inFlight.clear();
    socket.on("inference", onInference);
    socket.on("frame_error", onFrameError);
    socket.on("disconnect", onDisconnect);
    return () => {
      socket.off("inference", onInference);
      socket.off("frame_error", onFrameError);
      socket.off("disconnect", onDisconnect);
    };
  }, [socket, inFlight, book, record, video, refresh, refused, answered, overloaded]);

  useFrameCapture({ video, socket, streaming, fps: rate.fps, limits, inFlight, stats: book, onRefused: refused });

  return { connection, limits, fps: chosenFps, rate: { fps: rate.fps, ceiling: rate.ceiling, reason: rate.reason },
           result, lastError, stats, people, recording, reconnect };
}
