import { describe, expect, it } from "vitest";
import { LiveStatsBook } from "./liveStats";
import type { Inference } from "./types";

const answer = (frame_id: number, server_ms: number, dropped_frames = 0): Inference => ({
  frame_id, width: 320, height: 240, faces: [], models: {}, latency: { server_ms, queue_ms: 0, detect_ms: server_ms / 2 }, dropped_frames,
});

describe("LiveStatsBook", () => {
  it("keeps round trips, server stages and totals", () => {
    const book = new LiveStatsBook();
    book.sent(0);
    book.sent(100);
    book.answered(answer(1, 8), 30, 30);
    book.answered(answer(2, 12, 3), 50, 150);
    book.answered(answer(3, 10, 3), null, 160); // a late answer: counted, no round trip
    const s = book.snapshot(200);
    expect(s.rtt.count).toBe(2);
    expect(s.rtt.median).toBe(40);
    expect(s.stages.server_ms).toBe(10);
    expect(s.stages.detect_ms).toBe(5);
    expect(Number.isNaN(s.stages.classify_ms)).toBe(true);
    expect(s.totals).toEqual({ sent: 2, received: 3, errors: 0, lost: 0, serverDropped: 3 });
    expect(s.sentPerSecond).toBe(1);
    expect(s.receivedPerSecond).toBe(1.5);
  });

  it("counts rejected and lost frames as dropped, and rates fall back to zero", () => {
    const book = new LiveStatsBook();
    book.rejected(0);
    book.lost(2, 10);
    book.lost(0, 20);
    expect(book.snapshot(100).droppedPerSecond).toBe(1.5);
    expect(book.snapshot(100).totals).toMatchObject({ errors: 1, lost: 2 });
    expect(book.snapshot(5_000).droppedPerSecond).toBe(0);
  });
});
