import { describe, expect, it } from "vitest";
import { hashOf, parseHash } from "./route";

const ID = "018c3f6a2b1e4d5f6a7b8c9d0e1f2a3b";

describe("parseHash", () => {
  it("reads the tabs, a session and the privacy text", () => {
    expect(parseHash("")).toEqual({ kind: "place", place: { tab: "live", session: null } });
    expect(parseHash("#training")).toEqual({ kind: "place", place: { tab: "training", session: null } });
    expect(parseHash("#sessions")).toEqual({ kind: "place", place: { tab: "sessions", session: null } });
    expect(parseHash(`#sessions/${ID}`)).toEqual({ kind: "place", place: { tab: "sessions", session: ID } });
    expect(parseHash("#/sessions/")).toEqual({ kind: "place", place: { tab: "sessions", session: null } });
    expect(parseHash("#privacy")).toEqual({ kind: "privacy" });
  });

  it("keeps an id as written, even one the API will not know", () => {
    expect(parseHash("#sessions/a%2Fb")).toEqual({ kind: "place", place: { tab: "sessions", session: "a/b" } });
    expect(parseHash("#sessions/100%")).toEqual({ kind: "place", place: { tab: "sessions", session: "100%" } });
  });

  it("says when a hash is no place of the page", () => {
    expect(parseHash("#main")).toEqual({ kind: "unknown" });
    expect(parseHash("#training/x")).toEqual({ kind: "unknown" });
  });
});

describe("hashOf", () => {
  it("round-trips every place", () => {
    for (const place of [{ tab: "live", session: null }, { tab: "sessions", session: ID }, { tab: "sessions", session: "a/b" },
                         { tab: "analyze", session: null }] as const) {
      expect(parseHash(hashOf(place))).toEqual({ kind: "place", place });
    }
    expect(hashOf({ tab: "live", session: "ignored" })).toBe("#live");
  });
});
