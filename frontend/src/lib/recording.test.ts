import { describe, expect, it } from "vitest";
import {
  RECORDING_OFF, START_TIMEOUT_MS, checkSessionName, recordingReducer, sessionErrorWords,
  type RecordingAction, type RecordingState,
} from "./recording";

const ID = "018c3f6a2b1e4d5f6a7b8c9d0e1f2a3b";

function run(...actions: RecordingAction[]): RecordingState {
  return actions.reduce(recordingReducer, RECORDING_OFF);
}

const start: RecordingAction = { type: "start", name: "participant 7", now: 1_000 };
const started: RecordingAction = { type: "session", event: { id: ID, name: "participant 7", recording: true }, now: 1_200 };
const frame = (faces: number): RecordingAction => ({ type: "inference", faces });

describe("checkSessionName", () => {
  it("takes 1 to 200 characters after trimming, as the gateway does", () => {
    expect(checkSessionName("  participant 7, task 2 ")).toEqual({ ok: true, name: "participant 7, task 2" });
    expect(checkSessionName("x".repeat(200))).toEqual({ ok: true, name: "x".repeat(200) });
    expect(checkSessionName("😀".repeat(200)).ok).toBe(true); // 200 characters, 400 UTF-16 units
  });

  it("says why a name is refused", () => {
    expect(checkSessionName("   ")).toMatchObject({ ok: false, error: expect.stringMatching(/^Give the session a name/) });
    expect(checkSessionName("x".repeat(201))).toEqual(
      { ok: false, error: "The session name has 201 characters; at most 200 are allowed." });
    expect(checkSessionName("line\nbreak")).toMatchObject({ ok: false, error: expect.stringMatching(/control characters/) });
    expect(checkSessionName("tab\there").ok).toBe(false);
  });
});

describe("sessionErrorWords", () => {
  it("puts each code in words, with the gateway's explanation", () => {
    expect(sessionErrorWords({ code: "recording_unavailable", message: "no recorder is running" }))
      .toBe("Recording is not available now: no recorder is running.");
    expect(sessionErrorWords({ code: "invalid_session_name", message: "the name is empty." }))
      .toBe("The gateway refused the session name: the name is empty.");
    expect(sessionErrorWords({ code: "brand_new", message: "" })).toBe("The gateway refused (brand_new).");
  });
});

describe("recordingReducer", () => {
  it("records only once the gateway confirms, counting the answers and rows received meanwhile", () => {
    const asked = run(start, frame(1));
    expect(asked.phase).toBe("starting");
    const state = run(start, started, frame(1), frame(2), frame(0));
    expect(state).toEqual({ phase: "recording", error: null,
                            session: { id: ID, name: "participant 7", startedAt: 1_200, frames: 3, rows: 3 } });
  });

  it("ends when the gateway confirms the stop, counting answers until then", () => {
    const state = run(start, started, frame(1), { type: "stop" }, frame(1),
                      { type: "session", event: { id: ID, recording: false }, now: 9_000 }, frame(1));
    expect(state).toEqual({ phase: "off", error: null, ended: {
      id: ID, name: "participant 7", startedAt: 1_200, endedAt: 9_000, frames: 2, rows: 2, reason: "stopped" } });
  });

  it("ignores the end of a session that is not the one recorded", () => {
    const state = run(start, started, { type: "session", event: { id: "other", recording: false }, now: 5_000 });
    expect(state.phase).toBe("recording");
  });

  it("ends on a disconnect and stays off after the reconnect", () => {
    const lost = run(start, started, frame(1), { type: "disconnected", now: 4_000 });
    expect(lost).toMatchObject({ phase: "off", ended: { reason: "disconnected", endedAt: 4_000, frames: 1 } });
    // The new connection's answers are not recorded, and no confirmation came: still off.
    expect(run(start, started, { type: "disconnected", now: 4_000 }, frame(1), { type: "tick", now: 60_000 }).phase).toBe("off");
    expect(run(start, { type: "disconnected", now: 1_100 })).toMatchObject({ phase: "off", ended: null,
      error: expect.stringMatching(/connection was lost before the gateway confirmed/) });
  });

  it("shows a refused start in words and records nothing", () => {
    const refused = { code: "recording_unavailable", message: "no recorder is running" };
    const state = run(start, { type: "session_error", event: refused, now: 1_100 }, frame(1));
    expect(state).toEqual({ phase: "off", ended: null, error: "Recording is not available now: no recorder is running." });
  });

  it("takes the gateway's word when it already records a session on this connection", () => {
    const state = run(start, { type: "session_error", event: { code: "already_recording", message: "...", id: ID }, now: 1_100 });
    expect(state).toMatchObject({ phase: "recording", session: { id: ID, name: "participant 7" } });
  });

  it("keeps recording when a stop is refused, and stops when the gateway records nothing", () => {
    const refused = run(start, started, { type: "stop" },
                        { type: "session_error", event: { code: "unknown_session", message: "not yours" }, now: 2_000 });
    expect(refused).toMatchObject({ phase: "recording", error: expect.stringMatching(/^The gateway does not know/) });
    const nothing = run(start, started, { type: "stop" },
                        { type: "session_error", event: { code: "not_recording", message: "" }, now: 2_000 });
    expect(nothing).toMatchObject({ phase: "off", ended: { reason: "stopped" } });
  });

  it("gives up a start left unanswered, and says so if the gateway confirms it later", () => {
    expect(run(start, { type: "tick", now: 1_000 + START_TIMEOUT_MS }).phase).toBe("starting");
    const gaveUp = run(start, { type: "tick", now: 1_001 + START_TIMEOUT_MS });
    expect(gaveUp).toMatchObject({ phase: "off", error: expect.stringMatching(/did not confirm the recording within 15 s/) });
    expect(recordingReducer(gaveUp, started)).toMatchObject({ phase: "recording", session: { id: ID } });
  });

  it("does not start twice, and keeps a name error while off", () => {
    const once = run(start, { type: "start", name: "again", now: 1_050 });
    expect(once).toMatchObject({ phase: "starting", name: "participant 7" });
    expect(run({ type: "refuse", error: "Give the session a name." }))
      .toEqual({ phase: "off", ended: null, error: "Give the session a name." });
  });
});
