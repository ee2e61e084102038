// The wire contract with the gateway (docs/PROTOCOL.md).
export const EMOTIONS = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"] as const;
export type Emotion = (typeof EMOTIONS)[number];

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface EmotionReading {
  label: Emotion;
  confidence: number;
  probabilities: Record<Emotion, number>;
}

export interface Face {
  id: number;
  box: Box;
  score: number;
  emotion: EmotionReading | null;
}

export interface ModelStatus {
  ready?: boolean;
  version?: string | null;
  accuracy?: number | null;
  [key: string]: unknown;
}

export interface Latency {
  server_ms?: number;
  queue_ms?: number;
  decode_ms?: number;
  detect_ms?: number;
  classify_ms?: number;
}

export interface Inference {
  frame_id: number;
  width: number;
  height: number;
  faces: Face[];
  models?: { emotion?: ModelStatus; detector?: ModelStatus };
  latency?: Latency;
  dropped_frames?: number;
}

export interface FrameError {
  frame_id: number | null;
  code: string;
  message: string;
}

export const EMOTION_COLORS: Record<Emotion, string> = {
  angry: "#f87171",
  disgust: "#a3e635",
  fear: "#c084fc",
  happy: "#facc15",
  sad: "#60a5fa",
  surprise: "#fb923c",
  neutral: "#94a3b8",
};
