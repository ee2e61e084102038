import { describe, expect, it } from "vitest";
import { errorCode, errorText } from "./api";

describe("errorText", () => {
  it("shows the gateway's {error: message}", () => {
    expect(errorText(400, JSON.stringify({ error: "dataset 'x' does not exist in the datasets folder" })))
      .toBe("HTTP 400: dataset 'x' does not exist in the datasets folder");
  });

  it("reads nested and top-level messages", () => {
    expect(errorText(409, JSON.stringify({ error: { code: "busy", message: "a job is running" } }))).toBe("HTTP 409: a job is running");
    expect(errorText(500, JSON.stringify({ message: "boom" }))).toBe("HTTP 500: boom");
  });

  it("shows an error code with its sentence", () => {
    expect(errorText(429, JSON.stringify({ error: "rate_limited", message: "too many requests" })))
      .toBe("HTTP 429: rate_limited: too many requests");
  });

  it("keeps plain text, drops HTML pages, and copes with an empty body", () => {
    expect(errorText(502, "Bad gateway")).toBe("HTTP 502: Bad gateway");
    expect(errorText(405, "<!doctype html><title>405 Method Not Allowed</title>")).toBe("HTTP 405");
    expect(errorText(503, "")).toBe("HTTP 503");
  });
});

describe("errorCode", () => {
  it("reads the body's code, and nothing from other bodies", () => {
    expect(errorCode(JSON.stringify({ error: "no session 'x'", code: "unknown_session" }))).toBe("unknown_session");
    expect(errorCode(JSON.stringify({ error: "x" }))).toBeNull();
    expect(errorCode("<html>")).toBeNull();
  });
});
