import { IN_VIEW_GRACE_MS, MAX_PEOPLE, RECENTLY_SEEN_MS, SIGHTING_GAP_MS } from "./config";
import { EMOTIONS, type Emotion, type Face } from "./types";

/**
 * One person's session so far, kept up to date sighting by sighting (nothing grows with the
 * session): time in view and time per emotion shown. Time between two sightings counts as in view
 * when they are at most SIGHTING_GAP_MS apart (longer: the person was away), and goes to the label
 * shown at the first of the two.
 */
export class SessionSummary {
  firstSeen: number | null = null;
  lastSeen: number | null = null;
  inViewMs = 0;
  sightings = 0;
  readonly emotionMs = Object.fromEntries(EMOTIONS.map((e) => [e, 0])) as Record<Emotion, number>;
  private lastLabel: Emotion | null = null;

  /** One sighting at time `t` (ms) with the label shown then (null: no emotion model). */
  add(t: number, label: Emotion | null): void {
    if (this.lastSeen !== null && t < this.lastSeen) return; // out of order: the history stays monotonic
    if (this.lastSeen !== null) {
      const dt = t - this.lastSeen;
      if (dt <= SIGHTING_GAP_MS) {
        this.inViewMs += dt;
        if (this.lastLabel) this.emotionMs[this.lastLabel] += dt;
      }
    }
    this.firstSeen ??= t;
    this.lastSeen = t;
    this.lastLabel = label;
    this.sightings++;
  }

  /** Each emotion's share of the time a label was shown (sums to 1); null before any such time. */
  shares(): Record<Emotion, number> | null {
    const total = EMOTIONS.reduce((sum, e) => sum + this.emotionMs[e], 0);
    if (total <= 0) return null;
    return Object.fromEntries(EMOTIONS.map((e) => [e, this.emotionMs[e] / total])) as Record<Emotion, number>;
  }

  /** The emotion shown for the largest share of the time; with no time yet, the one shown now. */
  dominant(): Emotion | null {
    const shares = this.shares();
    if (!shares) return this.lastLabel;
    return EMOTIONS.reduce((best, e) => (shares[e] > shares[best] ? e : best), EMOTIONS[0]);
  }
}

export interface Person {
  id: number;
  /** The latest sighting: box, score and smoothed emotion as the gateway sent them. */
  face: Face;
  summary: SessionSummary;
}

/**
 * The people of a live session, by the gateway's person id: who is in view (seen within
 * IN_VIEW_GRACE_MS: a face the detector misses for a frame or two stays), who was seen recently
 * (within RECENTLY_SEEN_MS: a compact list), and each one's session summary. People out of view
 * longer are dropped, and at most `maxPeople` are kept (those out of view longest go first).
 */
export class People {
  private readonly byId = new Map<number, Person>();

  constructor(readonly maxPeople = MAX_PEOPLE, readonly recentMs = RECENTLY_SEEN_MS,
              readonly graceMs = IN_VIEW_GRACE_MS) {}

  /** Records one answer's faces at time `now` (ms) and drops whoever is past the limits. */
  add(faces: readonly Face[], now: number): void {
    for (const face of faces) {
      let person = this.byId.get(face.id);
      if (!person) {
        person = { id: face.id, face, summary: new SessionSummary() };
        this.byId.set(face.id, person);
      }
      person.face = face;
      person.summary.add(now, face.emotion?.label ?? null);
    }
    this.prune(now);
  }

  prune(now: number): void {
    for (const [id, p] of this.byId) if (now - (p.summary.lastSeen ?? now) > this.recentMs) this.byId.delete(id);
    if (this.byId.size <= this.maxPeople) return;
    const oldest = [...this.byId.values()].sort((a, b) => (a.summary.lastSeen ?? 0) - (b.summary.lastSeen ?? 0));
    for (const p of oldest.slice(0, this.byId.size - this.maxPeople)) this.byId.delete(p.id);
  }

  /** People in view at `now`, in the order they were first seen (cards keep their places). */
  inView(now: number): Person[] {
    return [...this.byId.values()].filter((p) => now - (p.summary.lastSeen ?? -Infinity) <= this.graceMs)
      .sort((a, b) => (a.summary.firstSeen ?? 0) - (b.summary.firstSeen ?? 0) || a.id - b.id);
  }

  /** People who left the view within `recentMs` of `now`, the most recently seen first. */
  recentlySeen(now: number): Person[] {
    return [...this.byId.values()]
      .filter((p) => {
        const away = now - (p.summary.lastSeen ?? now);
        return away > this.graceMs && away <= this.recentMs;
      })
      .sort((a, b) => (b.summary.lastSeen ?? 0) - (a.summary.lastSeen ?? 0));
  }

  get size(): number {
    return this.byId.size;
  }

  clear(): void {
    this.byId.clear();
  }
}

/**
 * Person ids that stay unique for the page's whole session. The gateway numbers people per
 * connection, from 1: after a reconnect its #1 is someone new, so the page shifts the new
 * connection's ids past every id it has shown (without a reconnect, the page's ids are the gateway's).
 */
export class SessionIds {
  private offset = 0;
  private highest = 0;

  /** A new connection: its ids start after the highest shown so far. */
  newConnection(): void {
    this.offset = this.highest;
  }

  /** The faces of one answer with the session's ids. */
  map<F extends Face>(faces: readonly F[]): F[] {
    return faces.map((f) => {
      const id = f.id + this.offset;
      this.highest = Math.max(this.highest, id);
      return id === f.id ? f : { ...f, id };
    });
  }
}
