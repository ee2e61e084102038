import { RateMeter, RecentSamples } from "./stats";
import type { Inference, Latency } from "./types";

export const STAGES: (keyof Latency)[] = ["server_ms", "queue_ms", "decode_ms", "detect_ms", "classify_ms"];

export interface LiveTotals {
  sent: number;
  received: number;
  errors: number;
  lost: number;
  serverDropped: number;
}

export interface LiveStats {
  rtt: ReturnType<RecentSamples["summary"]>;
  stages: Record<keyof Latency, number>;
  sentPerSecond: number;
  receivedPerSecond: number;
  droppedPerSecond: number;
  totals: LiveTotals;
}

/** What the status cards show about one live session: round trips, server stages, rates, totals. */
export class LiveStatsBook {
  private readonly rtt = new RecentSamples(100);
  private readonly stages = Object.fromEntries(STAGES.map((s) => [s, new RecentSamples(100)])) as Record<keyof Latency, RecentSamples>;
  private readonly sentRate = new RateMeter(2_000);
  private readonly receivedRate = new RateMeter(2_000);
  private readonly droppedRate = new RateMeter(2_000);
  private readonly totals: LiveTotals = { sent: 0, received: 0, errors: 0, lost: 0, serverDropped: 0 };

  sent(now: number): void {
    this.sentRate.mark(now);
    this.totals.sent++;
  }

  /** An answer; rtt is null when the page was no longer waiting for that frame. */
  answered(inference: Inference, rtt: number | null, now: number): void {
    if (rtt !== null) this.rtt.add(rtt);
    for (const s of STAGES) {
      const v = inference.latency?.[s];
      if (typeof v === "number") this.stages[s].add(v);
    }
    this.receivedRate.mark(now);
    this.totals.received++;
    this.totals.serverDropped = inference.dropped_frames ?? this.totals.serverDropped;
  }

  rejected(now: number): void {
    this.droppedRate.mark(now);
    this.totals.errors++;
  }

  /** Frames the page gave up waiting for. */
  lost(count: number, now: number): void {
    if (count <= 0) return;
    this.droppedRate.mark(now, count);
    this.totals.lost += count;
  }

  snapshot(now: number): LiveStats {
    return {
      rtt: this.rtt.summary(),
      stages: Object.fromEntries(STAGES.map((s) => [s, this.stages[s].summary().median])) as Record<keyof Latency, number>,
      sentPerSecond: this.sentRate.perSecond(now),
      receivedPerSecond: this.receivedRate.perSecond(now),
      droppedPerSecond: this.droppedRate.perSecond(now),
      totals: { ...this.totals },
    };
  }
}
