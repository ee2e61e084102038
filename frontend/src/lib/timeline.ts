import { EMOTIONS, type Emotion, type Face } from "./types";

export interface TimelineSample {
  /** Client time in ms (Date.now()) when the reading arrived. */
  t: number;
  label: Emotion | null;
  confidence: number | null;
  probabilities: Record<Emotion, number> | null;
}

/**
 * The recent emotion history of every face id, kept for `windowMs` (60 s by default).
 * A face that has had no sample within the window is forgotten.
 */
export class Timeline {
  private readonly samples = new Map<number, TimelineSample[]>();

  constructor(readonly windowMs = 60_000) {}

  /** Records one inference's faces at time `now` and drops what fell out of the window. */
  add(faces: readonly Face[], now: number): void {
    for (const face of faces) {
      const list = this.samples.get(face.id) ?? [];
      const last = list[list.length - 1];
      if (last && now < last.t) continue; // out-of-order reading: history stays monotonic
      list.push({
        t: now,
        label: face.emotion?.label ?? null,
        confidence: face.emotion?.confidence ?? null,
        probabilities: face.emotion?.probabilities ?? null,
      });
      this.samples.set(face.id, list);
    }
    this.prune(now);
  }

  prune(now: number): void {
    const oldest = now - this.windowMs;
    for (const [id, list] of this.samples) {
      let drop = 0;
      while (drop < list.length && list[drop].t < oldest) drop++;
      if (drop === list.length) this.samples.delete(id);
      else if (drop > 0) list.splice(0, drop);
    }
  }

  faceIds(): number[] {
    return [...this.samples.keys()].sort((a, b) => a - b);
  }

  history(faceId: number): readonly TimelineSample[] {
    return this.samples.get(faceId) ?? [];
  }

  /**
   * Chart columns for one face: seconds relative to `now` (negative, -60..0) and one series per
   * emotion (null where the sample had no emotion), in EMOTIONS order.
   */
  series(faceId: number, now: number): { seconds: number[]; values: Record<Emotion, (number | null)[]> } {
    const list = this.history(faceId);
    const seconds = list.map((s) => (s.t - now) / 1000);
    const values = Object.fromEntries(
      EMOTIONS.map((e) => [e, list.map((s) => (s.probabilities ? s.probabilities[e] : null))]),
    ) as Record<Emotion, (number | null)[]>;
    return { seconds, values };
  }
}
