import { MAX_TIMELINE_ROWS } from "./config";
import { SessionSummary } from "./people";
import { EMOTIONS, type Box, type Emotion, type Face } from "./types";

/** One person in one answered frame. `t`: the page's clock (ms) when the answer arrived. */
export interface TimelineRow {
  t: number;
  frameId: number;
  face: Face;
}

/**
 * The downloadable columns, one row per person per answered frame: the same as `sentivis analyze`'s
 * frames.csv, with the gateway's frame_id for its frame_index. time_s: seconds since the session's
 * first row; the probabilities, label and confidence are the smoothed ones the page shows (empty
 * without an emotion model).
 */
export const TIMELINE_COLUMNS = ["time_s", "frame_id", "face_id", "x", "y", "width", "height", "score",
  ...EMOTIONS, "label", "confidence"] as const;

/** What the JSON download says of each person, from the rows it holds. */
export interface PersonRecord {
  face_id: number;
  first_seen_s: number;
  last_seen_s: number;
  sightings: number;
  in_view_s: number;
  dominant: Emotion | null;
  shares: Record<Emotion, number> | null;
}

const seconds = (ms: number) => Math.round(ms) / 1000;

// A row in the ring: t, frame_id, face_id, x, y, width, height, score, 7 probabilities, label (its
// EMOTIONS index), confidence; NaN where there is no value. 17 numbers: 136 bytes a row, whatever
// the faces carried.
const WIDTH = 17;
const PROBS = 8;
const LABEL = PROBS + EMOTIONS.length;

/**
 * The live session's timeline of every person, for download as CSV or JSON: a ring of at most
 * `maxRows` rows (the oldest go first; `dropped` counts them), grown by doubling up to that.
 */
export class SessionLog {
  private ring = new Float64Array(0);
  private count = 0;
  private next = 0; // where the next row goes
  dropped = 0;

  constructor(readonly maxRows = MAX_TIMELINE_ROWS) {}

  /** One answer's faces, arrived at `now` (ms). */
  add(frameId: number, faces: readonly Face[], now: number): void {
    for (const face of faces) {
      const capacity = this.ring.length / WIDTH;
      if (this.count === capacity && capacity < this.maxRows) {
        // Not wrapped yet (the ring only wraps at maxRows): the rows are in order, copy them over.
        const grown = new Float64Array(Math.min(this.maxRows, Math.max(256, capacity * 2)) * WIDTH);
        grown.set(this.ring);
        this.ring = grown;
      }
      const at = this.next * WIDTH;
      const e = face.emotion;
      const { x, y, width, height } = face.box;
      this.ring.set([now, frameId, face.id, x, y, width, height, face.score], at);
      for (let i = 0; i < EMOTIONS.length; i++) this.ring[at + PROBS + i] = e ? e.probabilities[EMOTIONS[i]] : NaN;
      this.ring[at + LABEL] = e ? EMOTIONS.indexOf(e.label) : NaN;
      this.ring[at + LABEL + 1] = e ? e.confidence : NaN;
      this.next = (this.next + 1) % this.maxRows;
      if (this.count < this.maxRows) this.count++;
      else this.dropped++;
    }
  }

  get size(): number {
    return this.count;
  }

  /** Every row, oldest first. */
  all(): TimelineRow[] {
    const rows: TimelineRow[] = [];
    const first = this.count < this.maxRows ? 0 : this.next;
    for (let k = 0; k < this.count; k++) {
      const at = ((first + k) % this.maxRows) * WIDTH;
      const r = this.ring.subarray(at, at + WIDTH);
      const label = Number.isNaN(r[LABEL]) ? null : EMOTIONS[r[LABEL]];
      const probabilities = Object.fromEntries(EMOTIONS.map((e, i) => [e, r[PROBS + i]])) as Record<Emotion, number>;
      rows.push({ t: r[0], frameId: r[1], face: {
        id: r[2], box: { x: r[3], y: r[4], width: r[5], height: r[6] }, score: r[7],
        emotion: label ? { label, confidence: r[LABEL + 1], probabilities } : null } });
    }
    return rows;
  }
  /** The session as CSV: a header of TIMELINE_COLUMNS and one line per row. */
  toCsv(): string {
    const rows = this.all();
    const origin = rows[0]?.t ?? 0;
    const lines = [TIMELINE_COLUMNS.join(",")];
    for (const { t, frameId, face } of rows) {
      const e = face.emotion;
      lines.push([seconds(t - origin).toFixed(3), frameId, face.id, ...boxCells(face.box), cell(face.score),
        ...EMOTIONS.map((label) => cell(e?.probabilities[label])), e?.label ?? "", cell(e?.confidence)].join(","));
    }
    return lines.join("\n") + "\n";
  }

  /** The session as JSON: when it started, each person's summary over the rows held, and the rows. */
  toJson(exportedAt: number): string {
    const rows = this.all();
    const origin = rows[0]?.t ?? exportedAt;
    const summaries = new Map<number, SessionSummary>();
    for (const { t, face } of rows) {
      const summary = summaries.get(face.id) ?? new SessionSummary();
      summary.add(t, face.emotion?.label ?? null);
      summaries.set(face.id, summary);
    }
    const people: PersonRecord[] = [...summaries].map(([id, s]) => ({
      face_id: id, first_seen_s: seconds((s.firstSeen ?? origin) - origin), last_seen_s: seconds((s.lastSeen ?? origin) - origin),
      sightings: s.sightings, in_view_s: seconds(s.inViewMs), dominant: s.dominant(), shares: s.shares(),
    }));
    return JSON.stringify({
      started_at: rows.length ? new Date(origin).toISOString() : null,
      exported_at: new Date(exportedAt).toISOString(),
      dropped_rows: this.dropped,
      people,
      rows: rows.map(({ t, frameId, face }) => ({
        time_s: seconds(t - origin), frame_id: frameId, face_id: face.id, box: face.box, score: face.score,
        label: face.emotion?.label ?? null, confidence: face.emotion?.confidence ?? null,
        probabilities: face.emotion?.probabilities ?? null,
      })),
    }, null, 1);
  }
}

function boxCells(box: Box): (number | string)[] {
  return [box.x, box.y, box.width, box.height].map(cell);
}

/** A number as a CSV cell; empty where there is none. */
function cell(v: number | undefined): number | string {
  return v !== undefined && Number.isFinite(v) ? v : "";
}
