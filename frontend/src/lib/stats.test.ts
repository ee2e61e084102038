import { describe, expect, it } from "vitest";
import { percentile, RateMeter, RecentSamples } from "./stats";

describe("percentile", () => {
  it("interpolates like numpy", () => {
    const xs = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100];
    expect(percentile(xs, 50)).toBe(55);
    expect(percentile(xs, 95)).toBeCloseTo(95.5, 10);
    expect(percentile(xs, 0)).toBe(10);
    expect(percentile(xs, 100)).toBe(100);
  });

  it("does not depend on input order and leaves the input alone", () => {
    const xs = [5, 1, 4, 2, 3];
    expect(percentile(xs, 50)).toBe(3);
    expect(xs).toEqual([5, 1, 4, 2, 3]);
  });

  it("is NaN for no samples and the value for one", () => {
    expect(percentile([], 50)).toBeNaN();
    expect(percentile([42], 95)).toBe(42);
  });
});

describe("RecentSamples", () => {
  it("summarises only the most recent window", () => {
    const s = new RecentSamples(4);
    for (const v of [1000, 1000, 10, 20, 30, 40]) s.add(v);
    const sum = s.summary();
    expect(sum.count).toBe(4);
    expect(sum.median).toBe(25);
    expect(sum.p95).toBeCloseTo(38.5, 10);
    expect(sum.last).toBe(40);
  });

  it("skips values that are not finite numbers", () => {
    const s = new RecentSamples();
    s.add(Number.NaN);
    s.add(Number.POSITIVE_INFINITY);
    s.add(7);
    expect(s.summary()).toMatchObject({ count: 1, median: 7 });
  });
});

describe("RateMeter", () => {
  it("counts events per second over its window", () => {
    const r = new RateMeter(2_000);
    for (let t = 0; t < 2_000; t += 100) r.mark(t); // 10 per second
    expect(r.perSecond(1_999)).toBe(10);
  });

  it("forgets events older than the window", () => {
    const r = new RateMeter(1_000);
    r.mark(0, 5);
    r.mark(900, 2);
    expect(r.perSecond(950)).toBe(7);
    expect(r.perSecond(1_000)).toBe(2);
    expect(r.perSecond(1_900)).toBe(0);
  });
});
