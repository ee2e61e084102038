/**
 * The frame rate the page sends at, adapted to what the gateway can serve, as a video call does:
 * when the gateway refuses frames as `overloaded`, or round trips grow past `slowRttMs`, the rate
 * is cut (multiplicative decrease, at most once per `holdMs` so one burst of refusals counts
 * once); once things are calm for `recoverAfterMs` it climbs back one step a `recoverAfterMs`
 * (additive increase) up to the rate the user chose. A cut to 0.7 rather than a halving: many
 * pages are refused at once when the gateway is full, and halving them all left it half idle
 * (benchmarks: `overload-4x-adaptive`). A round trip counts as grown only past twice the
 * fastest one seen too, so a far-away gateway is not taken for a busy one. Times are milliseconds
 * on any monotonic clock.
 */

export type SlowReason = "overloaded" | "slow";

export interface AdaptiveRateOptions {
  /** The lowest rate it goes down to. */
  minFps: number;
  /** The rate is multiplied by this on each cut. */
  decrease: number;
  /** Frames per second added at each step of recovery. */
  increaseStep: number;
  /** After a cut, no other cut for this long (the refusals of frames already sent arrive meanwhile). */
  holdMs: number;
  /** Calm this long (no refusal, fast round trips) before each step up. */
  recoverAfterMs: number;
  /** A smoothed round trip above this (and above twice the fastest) counts as the gateway falling behind. */
  slowRttMs: number;
  /** Weight of the newest round trip in the smoothed one. */
  rttWeight: number;
}

export const ADAPTIVE_RATE_DEFAULTS: AdaptiveRateOptions = {
  minFps: 1, decrease: 0.7, increaseStep: 1, holdMs: 1_000, recoverAfterMs: 1_000, slowRttMs: 250, rttWeight: 0.2,
};

export interface RateState {
  /** The rate to send at now. */
  fps: number;
  /** The rate the user chose (within the gateway's limit): the most it climbs back to. */
  ceiling: number;
  /** Why it is below the ceiling, or null when it is not. */
  reason: SlowReason | null;
}

export class AdaptiveRate {
  private readonly options: AdaptiveRateOptions;
  private current: number;
  private top: number;
  private why: SlowReason | null = null;
  private lastCut = Number.NEGATIVE_INFINITY;
  private lastTrouble = Number.NEGATIVE_INFINITY;
  private lastStep = Number.NEGATIVE_INFINITY;
  private rtt: number | null = null;
  private fastest = Number.POSITIVE_INFINITY;

  constructor(ceiling: number, options: Partial<AdaptiveRateOptions> = {}) {
    this.options = { ...ADAPTIVE_RATE_DEFAULTS, ...options };
    this.top = Math.max(this.options.minFps, ceiling);
    this.current = this.top;
  }

  get state(): RateState {
    return { fps: this.current, ceiling: this.top, reason: this.why };
  }

  /** A new chosen rate: sending starts again at it (or stays lower, if it is cutting now). */
  setCeiling(ceiling: number): void {
    this.top = Math.max(this.options.minFps, ceiling);
    this.current = Math.min(this.top, this.why === null ? this.top : this.current);
    if (this.current === this.top) this.why = null;
  }

  /** The gateway refused a frame as `overloaded`. */
  overloaded(now: number): void {
    this.trouble("overloaded", now);
  }

  /** A frame's answer arrived after `rttMs`. */
  answered(rttMs: number, now: number): void {
    if (!Number.isFinite(rttMs)) return;
    const w = this.options.rttWeight;
    this.rtt = this.rtt === null ? rttMs : this.rtt + w * (rttMs - this.rtt);
    this.fastest = Math.min(this.fastest, rttMs);
    if (this.slow(1)) this.trouble("slow", now);
  }

  /** Called regularly (every second or so): one step back up when calm long enough. */
  tick(now: number): void {
    const o = this.options;
    if (this.current >= this.top) return;
    if (now - this.lastTrouble < o.recoverAfterMs || now - this.lastStep < o.recoverAfterMs) return;
    if (this.slow(0.8)) return;
    this.current = Math.min(this.top, this.current + o.increaseStep);
    this.lastStep = now;
    if (this.current >= this.top) this.why = null;
  }

  /** Whether the smoothed round trip is past `factor` x the thresholds. */
  private slow(factor: number): boolean {
    return this.rtt !== null && this.rtt > factor * Math.max(this.options.slowRttMs, 2 * this.fastest);
  }

  private trouble(reason: SlowReason, now: number): void {
    const o = this.options;
    this.lastTrouble = now;
    if (now - this.lastCut < o.holdMs) return;
    const next = Math.max(o.minFps, Math.floor(this.current * o.decrease)); // whole frames per second
    if (next < this.current) {
      this.current = next;
      this.why = reason;
    }
    this.lastCut = now;
    this.lastStep = now; // recovery counts from the last cut
  }
}
