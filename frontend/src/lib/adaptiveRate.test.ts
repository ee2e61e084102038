import { describe, expect, it } from "vitest";
import { AdaptiveRate } from "./adaptiveRate";

describe("adaptive frame rate", () => {
  it("sends at the chosen rate while the gateway keeps up", () => {
    const r = new AdaptiveRate(15);
    for (let t = 0; t < 10_000; t += 100) {
      r.answered(40, t);
      r.tick(t);
    }
    expect(r.state).toEqual({ fps: 15, ceiling: 15, reason: null });
  });

  it("cuts the rate when frames are refused as overloaded, once per burst", () => {
    const r = new AdaptiveRate(20);
    r.overloaded(1_000);
    r.overloaded(1_010); // the refusals of frames already on their way
    r.overloaded(1_500);
    expect(r.state).toEqual({ fps: 14, ceiling: 20, reason: "overloaded" });
    r.overloaded(2_100); // still refused a second later: cut again
    expect(r.state.fps).toBe(9);
  });

  it("never goes below the minimum", () => {
    const r = new AdaptiveRate(4, { minFps: 1 });
    for (let t = 0; t < 20_000; t += 1_000) r.overloaded(t);
    expect(r.state.fps).toBe(1);
  });

  it("climbs back one step at a time once calm, to the chosen rate and no further", () => {
    const r = new AdaptiveRate(10);
    r.overloaded(0);
    expect(r.state.fps).toBe(7);
    r.tick(500); // calm for too short a time
    expect(r.state.fps).toBe(7);
    const seen: number[] = [];
    for (let t = 2_000; t <= 20_000; t += 500) {
      r.answered(30, t);
      r.tick(t);
      seen.push(r.state.fps);
    }
    // One step a second: 8, 9, 10, and then it stays.
    expect([...new Set(seen)]).toEqual([8, 9, 10]);
    expect(r.state).toEqual({ fps: 10, ceiling: 10, reason: null });
  });

  it("a refusal during recovery starts the wait for the next step again", () => {
    const r = new AdaptiveRate(10);
    r.overloaded(0);
    r.tick(1_000);
    expect(r.state.fps).toBe(8);
    r.overloaded(3_500); // cut: 5
    r.tick(4_000);
    r.tick(4_499);
    expect(r.state.fps).toBe(5);
    r.tick(4_500);
    expect(r.state.fps).toBe(6);
  });

  it("lowers the rate when round trips grow, and takes a far-away gateway as it is", () => {
    const near = new AdaptiveRate(30);
    for (let t = 0; t < 1_000; t += 33) near.answered(20, t);
    for (let t = 1_000; t < 3_000; t += 33) near.answered(600, t); // the gateway falls behind
    expect(near.state.reason).toBe("slow");
    expect(near.state.fps).toBeLessThan(30);

    const far = new AdaptiveRate(30);
    for (let t = 0; t < 3_000; t += 33) far.answered(320, t); // always 320 ms: the distance, not a queue
    expect(far.state).toEqual({ fps: 30, ceiling: 30, reason: null });
  });

  it("follows a new chosen rate", () => {
    const r = new AdaptiveRate(10);
    r.setCeiling(20);
    expect(r.state).toEqual({ fps: 20, ceiling: 20, reason: null });
    r.overloaded(0);
    r.setCeiling(30); // higher while cut: it climbs back there step by step, from where it is
    expect(r.state).toEqual({ fps: 14, ceiling: 30, reason: "overloaded" });
    r.setCeiling(5); // lower than the cut rate: that is the rate now
    expect(r.state).toEqual({ fps: 5, ceiling: 5, reason: null });
  });
});
