// The contract of recorded sessions: the Socket.IO events (docs/PROTOCOL.md, "Recorded sessions")
// and the sessions API's payloads (docs/API.md, "Recorded sessions").
import type { Box, Emotion } from "./types";

/** `session`: a session started (`recording: true`, with its name) or ended (`recording: false`). */
export interface SessionEvent {
  id: string;
  name?: string;
  recording: boolean;
}

/** `session_error`: a `session_start` or `session_stop` that was refused; nothing else changed. */
export interface SessionErrorEvent {
  code: string;
  message: string;
  /** The connection's current session, with `already_recording`. */
  id?: string;
}

export type SessionSource = "live" | "image" | "video" | "file";
export type EndReason = "stopped" | "disconnected" | "shutdown" | "error";

/** One session of `GET /api/v1/sessions`. Times are Unix seconds. */
export interface SessionListItem {
  id: string;
  name: string;
  source: SessionSource | string;
  started_at: number;
  /** null while it records, or when its gateway stopped without ending it. */
  ended_at: number | null;
  end_reason: EndReason | string | null;
  /** To the end, else to the latest frame written. */
  duration_s: number;
  people: number;
  /** Answered frames written. */
  frames: number;
  /** Answered frames not recorded because the records backlog was past its bound. */
  gap_frames: number;
  /** What the gateway answered while recording, known at the end. */
  reported_frames: number | null;
}

/** `GET /api/v1/sessions?limit=&before=`: newest first; `next` is the next (older) page's `before`. */
export interface SessionPage {
  sessions: SessionListItem[];
  next: string | null;
}

/** One person's summary, computed as the page computes its own (lib/people.ts SessionSummary). */
export interface PersonSummaryRecord {
  id: number;
  first_seen_s: number;
  last_seen_s: number;
  sightings: number;
  in_view_s: number;
  shares: Record<Emotion, number> | null;
  dominant: Emotion | null;
  mean_confidence: number | null;
}

export interface SessionGap {
  first_seq: number;
  frames: number;
  started_at: number;
  ended_at: number;
}

export interface SessionModels {
  from_seq: number;
  emotion_version: string | null;
  detector: string | null;
  accuracy: number | null;
}

/** `GET /api/v1/sessions/<id>`. */
export interface SessionDetail extends SessionListItem {
  gateway: string | null;
  settings: Record<string, unknown>;
  models: SessionModels[];
  gaps: SessionGap[];
  people_summary: PersonSummaryRecord[];
}

/** One line of `GET /api/v1/sessions/<id>/frames?format=jsonl`: one person in one answered frame. */
export interface SessionRow {
  /** Seconds since the session's first row. */
  time_s: number;
  /** Unix seconds. */
  time: number;
  seq: number;
  frame_id: number;
  face_id: number;
  box: Box;
  score: number | null;
  label: Emotion | null;
  confidence: number | null;
  probabilities: Record<Emotion, number> | null;
  raw: Record<Emotion, number> | null;
}

export type SessionFileFormat = "csv" | "jsonl";
