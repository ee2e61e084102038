/**
 * Frames sent and not yet answered. The page sends a new frame only while fewer than `limit` are
 * in flight, so a slow server never builds a queue; a frame unanswered after `timeoutMs` is given
 * up (counted as lost) so a lost reply cannot stall the camera.
 */
export class InFlight {
  private readonly pending = new Map<number, number>();
  lost = 0;

  constructor(readonly limit = 2, readonly timeoutMs = 2_000) {}

  canSend(now: number): boolean {
    this.expire(now);
    return this.pending.size < this.limit;
  }

  sent(frameId: number, now: number): void {
    this.pending.set(frameId, now);
  }

  /** The answer for `frameId` arrived: returns its round trip in ms, or null if not pending. */
  settle(frameId: number | null, now: number): number | null {
    if (frameId === null) return null;
    const at = this.pending.get(frameId);
    if (at === undefined) return null;
    this.pending.delete(frameId);
    return now - at;
  }

  get size(): number {
    return this.pending.size;
  }

  clear(): void {
    this.pending.clear();
  }

  private expire(now: number): void {
    for (const [id, at] of this.pending) {
      if (now - at >= this.timeoutMs) {
        this.pending.delete(id);
        this.lost++;
      }
    }
  }
}
