import { SIGHTING_GAP_MS } from "./config";
import type { SessionRow } from "./sessionTypes";
import { EMOTIONS, type Emotion } from "./types";

/** The most points a person's chart gets: longer sessions are averaged over equal slices of time. */
export const MAX_CHART_POINTS = 1_500;

/** Text that arrives in chunks, as whole lines (the last one may lack its newline). */
export class LineSplitter {
  private rest = "";

  push(chunk: string): string[] {
    const lines = (this.rest + chunk).split("\n");
    this.rest = lines.pop() ?? "";
    return lines.map(trimCr).filter(Boolean);
  }

  end(): string[] {
    const last = trimCr(this.rest);
    this.rest = "";
    return last ? [last] : [];
  }
}

const trimCr = (line: string) => (line.endsWith("\r") ? line.slice(0, -1) : line);

/** One JSONL line of the session's rows; `lineNumber` names it in the error when it is not a row. */
export function parseRow(line: string, lineNumber: number): SessionRow {
  let row: unknown;
  try {
    row = JSON.parse(line);
  } catch {
    throw new Error(`Line ${lineNumber} of the session's rows is not JSON.`);
  }
  const r = row as Partial<SessionRow> | null;
  if (!r || typeof r.time_s !== "number" || typeof r.face_id !== "number")
    throw new Error(`Line ${lineNumber} of the session's rows has no time_s or face_id.`);
  return r as SessionRow;
}

/** One person's chart columns: seconds since the session's first row, a value per emotion (null: a gap). */
export interface PersonSeries {
  id: number;
  x: number[];
  values: Record<Emotion, (number | null)[]>;
  sightings: number;
}

/** The averaging slice for a session of `durationS` seconds: 0 (every row its own point) when short enough. */
export function sliceSeconds(durationS: number, rows: number, maxPoints = MAX_CHART_POINTS): number {
  return rows > maxPoints && durationS > 0 ? durationS / maxPoints : 0;
}

interface Slice {
  key: number;
  rows: number;
  timeSum: number;
  readings: number; // rows with probabilities
  sums: number[];
}

interface Building extends PersonSeries {
  lastT: number | null;
  slice: Slice | null;
}

/**
 * Each person's emotion over a recorded session, built row by row (rows in time order, as the API
 * streams them) so that a long session is never held whole. A person's absence is a gap: two
 * sightings more than `gapS` apart (the page's in-view rule, SIGHTING_GAP_MS) get a null point
 * between them, which the chart leaves undrawn instead of a straight line across. With `sliceS` > 0
 * the rows of each slice of time are averaged into one point (within a stretch in view, never across
 * a gap). A row without probabilities (no emotion model) is a null too.
 */
export class SeriesBuilder {
  private readonly people = new Map<number, Building>();
  private counter = 0;

  constructor(readonly sliceS = 0, readonly gapS = SIGHTING_GAP_MS / 1000) {}

  add(row: SessionRow): void {
    let p = this.people.get(row.face_id);
    if (!p) {
      p = { id: row.face_id, x: [], values: emptyValues(), sightings: 0, lastT: null, slice: null };
      this.people.set(row.face_id, p);
    }
    const t = row.time_s;
    if (p.lastT !== null && t < p.lastT) return; // out of order: the chart's x stays ascending
    if (p.lastT !== null && t - p.lastT > this.gapS) {
      flush(p);
      p.x.push((p.lastT + t) / 2);
      for (const e of EMOTIONS) p.values[e].push(null);
    }
    const key = this.sliceS > 0 ? Math.floor(t / this.sliceS) : this.counter++;
    if (p.slice && p.slice.key !== key) flush(p);
    const slice = (p.slice ??= { key, rows: 0, timeSum: 0, readings: 0, sums: EMOTIONS.map(() => 0) });
    slice.rows++;
    slice.timeSum += t;
    if (row.probabilities) {
      slice.readings++;
      EMOTIONS.forEach((e, i) => { slice.sums[i] += row.probabilities![e]; });
    }
    p.lastT = t;
    p.sightings++;
  }

  /** Every person's series, by id. */
  build(): PersonSeries[] {
    return [...this.people.values()].sort((a, b) => a.id - b.id).map((p) => {
      flush(p);
      return { id: p.id, x: p.x, values: p.values, sightings: p.sightings };
    });
  }
}

function emptyValues(): Record<Emotion, (number | null)[]> {
  return Object.fromEntries(EMOTIONS.map((e) => [e, []])) as unknown as Record<Emotion, (number | null)[]>;
}

function flush(p: Building): void {
  const s = p.slice;
  if (!s) return;
  p.x.push(s.timeSum / s.rows);
  EMOTIONS.forEach((e, i) => p.values[e].push(s.readings ? s.sums[i] / s.readings : null));
  p.slice = null;
}

/** Indexes of values with no value on either side: a line cannot show them, so the chart draws them as dots. */
export function loneIndexes(values: readonly (number | null | undefined)[]): number[] {
  const has = (i: number) => i >= 0 && i < values.length && values[i] !== null && values[i] !== undefined;
  const out: number[] = [];
  for (let i = 0; i < values.length; i++) if (has(i) && !has(i - 1) && !has(i + 1)) out.push(i);
  return out;
}
