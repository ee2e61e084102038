/**
 * Frames sent and not yet answered, each with what the page needs when its answer comes (`info`).
 * The page sends a new frame only while fewer than `limit` are in flight, so a slow server never
 * builds a queue; a frame unanswered after `timeoutMs` is given up (counted as lost) so a lost
 * reply cannot stall the camera. Both come from the gateway's limits (lib/limits.ts).
 */
export class InFlight<T = undefined> {
  private readonly pending = new Map<number, { at: number; info: T }>();
  lost = 0;

  constructor(readonly limit: number, readonly timeoutMs: number) {}

  canSend(now: number): boolean {
    this.expire(now);
    return this.pending.size < this.limit;
  }

  sent(frameId: number, now: number, ...info: T extends undefined ? [] : [T]): void {
    this.pending.set(frameId, { at: now, info: info[0] as T });
  }

  /** The answer for `frameId` arrived: its round trip in ms and its info, or null if not pending. */
  settle(frameId: number | null, now: number): { rtt: number; info: T } | null {
    if (frameId === null) return null;
    const entry = this.pending.get(frameId);
    if (entry === undefined) return null;
    this.pending.delete(frameId);
    return { rtt: now - entry.at, info: entry.info };
  }

  get size(): number {
    return this.pending.size;
  }

  clear(): void {
    this.pending.clear();
  }

  private expire(now: number): void {
    for (const [id, { at }] of this.pending) {
      if (now - at >= this.timeoutMs) {
        this.pending.delete(id);
        this.lost++;
      }
    }
  }
}
