/** Percentile by linear interpolation between closest ranks (numpy's default); NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (Math.min(100, Math.max(0, p)) / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
}

/** The most recent `capacity` samples of a measurement (e.g. round-trip latency in ms). */
export class RecentSamples {
  private values: number[] = [];

  constructor(readonly capacity = 100) {}

  add(value: number): void {
    if (!Number.isFinite(value)) return;
    this.values.push(value);
    if (this.values.length > this.capacity) this.values.splice(0, this.values.length - this.capacity);
  }

  get count(): number {
    return this.values.length;
  }

  summary(): { count: number; median: number; p95: number; last: number } {
    return {
      count: this.values.length,
      median: percentile(this.values, 50),
      p95: percentile(this.values, 95),
      last: this.values.length ? this.values[this.values.length - 1] : Number.NaN,
    };
  }
}

/** Events per second over a sliding window of `windowMs`. */
export class RateMeter {
  private stamps: number[] = [];

  constructor(readonly windowMs = 2_000) {}

  mark(now: number, count = 1): void {
    for (let i = 0; i < count; i++) this.stamps.push(now);
    this.prune(now);
  }

  perSecond(now: number): number {
    this.prune(now);
    return (this.stamps.length * 1000) / this.windowMs;
  }

  private prune(now: number): void {
    const oldest = now - this.windowMs;
    let drop = 0;
    while (drop < this.stamps.length && this.stamps[drop] <= oldest) drop++;
    if (drop) this.stamps.splice(0, drop);
  }
}
