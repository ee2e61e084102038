// The wire contract with the gateway (docs/PROTOCOL.md): the records are generated from the
// gateway's own definitions (protocol.ts, from sentivis/protocol.py); the page's names for them here.
import type { DetectorInfo, Emotion as ModelOutput, EmotionInfo, TrackedFace } from "./protocol";

export type { Box, FrameError, Inference, Latency, Limits, SentivisEvents } from "./protocol";

export const EMOTIONS = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"] as const;
export type Emotion = (typeof EMOTIONS)[number];

/** An emotion as the page reads it: label, confidence, probabilities (a shown one also has `raw`). */
export type EmotionReading = ModelOutput;
/** A person in the frame: id, box, score and emotion; an `inference` event's faces are these. */
export type Face = Omit<TrackedFace, "emotion"> & { emotion: EmotionReading | null };
export type { DetectorInfo, EmotionInfo };

export const EMOTION_COLORS: Record<Emotion, string> = {
  angry: "#f87171",
  disgust: "#a3e635",
  fear: "#c084fc",
  happy: "#facc15",
  sad: "#60a5fa",
  surprise: "#fb923c",
  neutral: "#94a3b8",
};
