import { describe, expect, it } from "vitest";
import { ApiError } from "./api";
import { Pager, endWords, exportFileName, sessionApiWords, sessionDuration, sessionFlags } from "./sessionList";
import type { SessionListItem } from "./sessionTypes";

const A = "0".repeat(31) + "a";
const B = "0".repeat(31) + "b";

function session(over: Partial<SessionListItem> = {}): SessionListItem {
  return { id: A, name: "participant 7", source: "live", started_at: 1_800_000_000, ended_at: 1_800_000_125,
           end_reason: "stopped", duration_s: 125, people: 1, frames: 1200, gap_frames: 0, reported_frames: 1200, ...over };
}

describe("Pager", () => {
  it("starts at the newest page and goes older by each page's next, and back the same way", () => {
    let p = new Pager();
    expect([p.before, p.page, p.hasNewer]).toEqual([null, 1, false]);
    p = p.older(B);
    p = p.older(A);
    expect([p.before, p.page, p.hasNewer]).toEqual([A, 3, true]);
    p = p.newer();
    expect([p.before, p.page]).toEqual([B, 2]);
    p = p.newer().newer();
    expect([p.before, p.page]).toEqual([null, 1]);
  });

  it("leaves a page emptied by deletes for the one before it, but never the newest", () => {
    const second = new Pager().older(B);
    expect(second.settle(3)).toBe(second);
    expect(second.settle(0).before).toBeNull();
    const first = new Pager();
    expect(first.settle(0)).toBe(first);
  });
});

describe("sessionFlags", () => {
  it("says nothing of a complete session", () => {
    expect(sessionFlags(session())).toEqual([]);
  });

  it("flags frames not recorded", () => {
    expect(sessionFlags(session({ gap_frames: 37, reported_frames: 1237 }))).toEqual([
      { kind: "gap", text: "37 frames not recorded" }]);
    expect(sessionFlags(session({ gap_frames: 1, reported_frames: 1201 }))[0].text).toBe("1 frame not recorded");
  });

  it("flags a session without an end, and one whose frames are still on their way", () => {
    expect(sessionFlags(session({ ended_at: null, end_reason: null, reported_frames: null })).map((f) => f.kind))
      .toEqual(["open"]);
    expect(sessionFlags(session({ frames: 1190 }))).toEqual([{ kind: "writing", text: "10 frames still being written" }]);
  });
});

describe("endWords and sessionDuration", () => {
  it("say how and after how long a session ended", () => {
    expect(endWords(session())).toBe("stopped from the page");
    expect(endWords(session({ end_reason: "disconnected" }))).toBe("ended by a disconnect");
    expect(endWords(session({ ended_at: null }))).toBe("no end recorded");
    expect(endWords(session({ end_reason: "something new" }))).toBe("ended (something new)");
    expect(sessionDuration(session())).toBe("2:05");
  });
});

describe("sessionApiWords", () => {
  it("puts the sessions API's failures in words", () => {
    expect(sessionApiWords(new ApiError(404, "HTTP 404: no session 'x'", "unknown_session")))
      .toBe("This session does not exist (any more): it was deleted, or the link is wrong.");
    expect(sessionApiWords(new ApiError(503, "HTTP 503", "database_unavailable")))
      .toMatch(/^The sessions database is unavailable right now; the live camera is not affected/);
    expect(sessionApiWords(new ApiError(401, "The gateway needs an access token: enter it above (SENTIVIS_AUTH_TOKEN).")))
      .toMatch(/access token/);
    expect(sessionApiWords(new ApiError(0, "The gateway cannot be reached (Failed to fetch)."))).toMatch(/cannot be reached/);
    const notJson = "Line 3 of the session's rows is not JSON.";
    expect(sessionApiWords(new Error(notJson))).toBe(notJson);
  });
});

describe("exportFileName", () => {
  it("names the file after the session and its start", () => {
    expect(exportFileName(session({ name: "Participant 7, task 2 (Zoë)", started_at: 1_796_637_215 }), "csv", "UTC"))
      .toBe("sentivis-participant-7-task-2-zoe-2026-12-07T0953.csv");
    expect(exportFileName(session({ name: "日本語", started_at: 0 }), "jsonl", "UTC"))
      .toBe("sentivis-00000000-1970-01-01T0000.jsonl");
    expect(exportFileName(session({ name: "x".repeat(100) }), "csv", "UTC")).toMatch(/^sentivis-x{60}-/);
  });
});
