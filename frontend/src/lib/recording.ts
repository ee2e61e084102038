import type { SessionErrorEvent, SessionEvent } from "./sessionTypes";

/** The gateway's rule for a session name (docs/PROTOCOL.md): 1 to 200 characters after trimming, no control
 * characters. */
export const MAX_SESSION_NAME = 200;
/** A `session_start` unanswered this long is given up (the gateway answers at once when it is reachable). */
export const START_TIMEOUT_MS = 15_000;

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

export type NameCheck = { ok: true; name: string } | { ok: false; error: string };

/** The name as the gateway will take it, or why it will not. Characters are counted as Python counts them. */
export function checkSessionName(raw: string): NameCheck {
  const name = raw.trim();
  if (!name)
    return { ok: false, error: "Give the session a name before recording (for example \"participant 7, task 2\")." };
  const length = [...name].length;
  if (length > MAX_SESSION_NAME)
    return { ok: false, error: `The session name has ${length} characters; at most ${MAX_SESSION_NAME} are allowed.` };
  if (CONTROL.test(name))
    return { ok: false, error: "The session name cannot hold line breaks, tabs or other control characters." };
  return { ok: true, name };
}

const ERROR_WORDS: Record<string, string> = {
  invalid_session_name: "The gateway refused the session name",
  already_recording: "This connection is already recording a session",
  not_recording: "The gateway says nothing is being recorded on this connection",
  unknown_session: "The gateway does not know that session on this connection; nothing was stopped",
  recording_unavailable: "Recording is not available now",
};

/** A `session_error` in words, with the gateway's own explanation. */
export function sessionErrorWords(error: SessionErrorEvent): string {
  const words = ERROR_WORDS[error.code] ?? `The gateway refused (${error.code})`;
  const detail = typeof error.message === "string" && error.message ? `: ${error.message}` : "";
  return `${words}${detail}.`.replace(/\.\.$/, ".");
}

/** What the page knows of a session it recorded, once it ended. */
export interface EndedRecording {
  id: string;
  name: string;
  startedAt: number;
  endedAt: number;
  frames: number;
  rows: number;
  /** stopped: the gateway confirmed the stop; disconnected: the connection was lost, which ends it on the gateway. */
  reason: "stopped" | "disconnected";
}

export interface ActiveRecording {
  id: string;
  name: string;
  /** The page's clock when the gateway confirmed the start. */
  startedAt: number;
  /** Answers received while recording, and the person rows in them: what the gateway recorded. */
  frames: number;
  rows: number;
}

export type RecordingState =
  | { phase: "off"; ended: EndedRecording | null; error: string | null }
  | { phase: "starting"; name: string; requestedAt: number; error: null }
  | { phase: "recording" | "stopping"; session: ActiveRecording; error: string | null };

export type RecordingAction =
  | { type: "start"; name: string; now: number }
  | { type: "refuse"; error: string }
  | { type: "session"; event: SessionEvent; now: number }
  | { type: "session_error"; event: SessionErrorEvent; now: number }
  | { type: "inference"; faces: number }
  | { type: "stop" }
  | { type: "disconnected"; now: number }
  | { type: "tick"; now: number };

export const RECORDING_OFF: RecordingState = { phase: "off", ended: null, error: null };

function ended(session: ActiveRecording, now: number, reason: EndedRecording["reason"]): EndedRecording {
  return { ...session, endedAt: now, reason };
}

/**
 * The Record switch's state, driven by what the page asks and what the gateway answers. The page
 * never claims a recording the gateway has not confirmed: "recording" starts at the `session`
 * event, and a lost connection ends it (the gateway ends a session when its connection closes; a
 * reconnect is a new connection that records nothing until asked again).
 */
export function recordingReducer(state: RecordingState, action: RecordingAction): RecordingState {
  switch (action.type) {
    case "start":
      if (state.phase !== "off") return state;
      return { phase: "starting", name: action.name, requestedAt: action.now, error: null };
    case "refuse":
      return state.phase === "off" ? { ...state, error: action.error } : state;
    case "session": {
      const { event, now } = action;
      if (event.recording) {
        if (state.phase === "recording" || state.phase === "stopping") return state;
        // Also after a start was given up: the gateway records, so the page says so.
        const name = event.name ?? (state.phase === "starting" ? state.name : "");
        return { phase: "recording", session: { id: event.id, name, startedAt: now, frames: 0, rows: 0 }, error: null };
      }
      if ((state.phase === "recording" || state.phase === "stopping") && state.session.id === event.id)
        return { phase: "off", ended: ended(state.session, now, "stopped"), error: null };
      return state;
    }
    case "session_error": {
      const error = sessionErrorWords(action.event);
      if (state.phase === "starting" && action.event.code === "already_recording" && action.event.id)
        return { phase: "recording", error,
                 session: { id: action.event.id, name: state.name, startedAt: action.now, frames: 0, rows: 0 } };
      if (state.phase === "starting") return { phase: "off", ended: null, error };
      if (state.phase === "stopping" && action.event.code === "not_recording")
        return { phase: "off", ended: ended(state.session, action.now, "stopped"), error };
      if (state.phase === "stopping") return { ...state, phase: "recording", error };
      return { ...state, error };
    }
    case "inference": {
      if (state.phase !== "recording" && state.phase !== "stopping") return state;
      const { frames, rows } = state.session;
      return { ...state, session: { ...state.session, frames: frames + 1, rows: rows + action.faces } };
    }
    case "stop":
      return state.phase === "recording" ? { ...state, phase: "stopping", error: null } : state;
    case "disconnected":
      if (state.phase === "recording" || state.phase === "stopping")
        return { phase: "off", ended: ended(state.session, action.now, "disconnected"), error: null };
      if (state.phase === "starting")
        return { phase: "off", ended: null,
                 error: "The connection was lost before the gateway confirmed the recording; "
                        + "if it had started, the disconnect ended it." };
      return state;
    case "tick":
      if (state.phase === "starting" && action.now - state.requestedAt > START_TIMEOUT_MS)
        return { phase: "off", ended: null,
                 error: `The gateway did not confirm the recording within ${START_TIMEOUT_MS / 1000} s; `
                        + "the page is not recording." };
      return state;
  }
}
