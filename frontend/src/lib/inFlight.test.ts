import { describe, expect, it } from "vitest";
import { InFlight } from "./inFlight";

describe("InFlight", () => {
  it("allows at most `limit` unanswered frames", () => {
    const f = new InFlight(2, 1_000);
    expect(f.canSend(0)).toBe(true);
    f.sent(1, 0);
    expect(f.canSend(10)).toBe(true);
    f.sent(2, 10);
    expect(f.canSend(20)).toBe(false);
  });

  it("frees a slot and measures the round trip when an answer comes back", () => {
    const f = new InFlight(2, 1_000);
    f.sent(1, 100);
    f.sent(2, 200);
    expect(f.settle(1, 350)?.rtt).toBe(250);
    expect(f.canSend(360)).toBe(true);
    expect(f.size).toBe(1);
  });

  it("ignores answers for frames it is not waiting on", () => {
    const f = new InFlight(2, 1_000);
    f.sent(1, 0);
    expect(f.settle(99, 10)).toBeNull();
    expect(f.settle(null, 10)).toBeNull();
    expect(f.settle(1, 10)?.rtt).toBe(10);
    expect(f.settle(1, 20)).toBeNull();
  });

  it("hands back what was kept with the frame", () => {
    const f = new InFlight<{ crop: string }>(2, 1_000);
    f.sent(7, 0, { crop: "centre" });
    expect(f.settle(7, 40)).toEqual({ rtt: 40, info: { crop: "centre" } });
  });

  it("gives up on frames unanswered after the timeout", () => {
    const f = new InFlight(2, 1_000);
    f.sent(1, 0);
    f.sent(2, 500);
    expect(f.canSend(999)).toBe(false);
    expect(f.canSend(1_000)).toBe(true);
    expect(f.lost).toBe(1);
    expect(f.settle(1, 1_100)).toBeNull();
  });
});
