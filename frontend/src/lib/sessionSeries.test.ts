import { describe, expect, it } from "vitest";
import { LineSplitter, SeriesBuilder, loneIndexes, parseRow, sliceSeconds, type PersonSeries } from "./sessionSeries";
import type { SessionRow } from "./sessionTypes";
import { EMOTIONS, type Emotion } from "./types";

function row(t: number, faceId: number, happy: number | null): SessionRow {
  const probabilities = happy === null ? null : Object.fromEntries(
    EMOTIONS.map((e) => [e, e === "happy" ? happy : (1 - happy) / 6])) as Record<Emotion, number>;
  return { time_s: t, time: 1_800_000_000 + t, seq: Math.round(t * 10), frame_id: Math.round(t * 10), face_id: faceId,
           box: { x: 1, y: 2, width: 30, height: 30 }, score: 0.9, label: happy === null ? null : "happy",
           confidence: happy, probabilities, raw: probabilities };
}

/** Rows at 10 fps for `seconds`; `seen(id, t)` says who is in each frame. */
function rows(seconds: number, ids: number[], seen: (id: number, t: number) => boolean): SessionRow[] {
  const out: SessionRow[] = [];
  for (let i = 0; i < seconds * 10; i++) {
    const t = Math.round(i * 100) / 1000;
    for (const id of ids) if (seen(id, t)) out.push(row(t, id, (i % 10) / 10));
  }
  return out;
}

function build(all: SessionRow[], sliceS = 0): PersonSeries[] {
  const builder = new SeriesBuilder(sliceS);
  all.forEach((r) => builder.add(r));
  return builder.build();
}

/** The stretches a chart draws: runs of points between nulls, as [first x, last x]. */
function stretches(s: PersonSeries): [number, number][] {
  const out: [number, number][] = [];
  let start: number | null = null;
  s.x.forEach((x, i) => {
    if (s.values.happy[i] === null) {
      if (start !== null) out.push([start, s.x[i - 1]]);
      start = null;
    } else start ??= x;
  });
  if (start !== null) out.push([start, s.x[s.x.length - 1]]);
  return out;
}

describe("LineSplitter", () => {
  it("gives whole lines across chunk boundaries, and the last line without its newline", () => {
    const split = new LineSplitter();
    expect(split.push('{"a":')).toEqual([]);
    expect(split.push('1}\n{"b":2}\r\n{"c"')).toEqual(['{"a":1}', '{"b":2}']);
    expect(split.push(":3}\n\n")).toEqual(['{"c":3}']);
    expect(split.push('{"d":4}')).toEqual([]);
    expect(split.end()).toEqual(['{"d":4}']);
    expect(split.end()).toEqual([]);
  });
});

describe("parseRow", () => {
  it("reads a row and names the line that is not one", () => {
    expect(parseRow(JSON.stringify(row(1.5, 3, 0.5)), 1).face_id).toBe(3);
    expect(() => parseRow("{not json", 7)).toThrow("Line 7 of the session's rows is not JSON.");
    expect(() => parseRow('{"time_s": 1}', 2)).toThrow("Line 2 of the session's rows has no time_s or face_id.");
  });
});

describe("SeriesBuilder", () => {
  // Person 1 away from 2.0 s to 5.0 s; person 2 missed for 0.5 s (within the 1 s rule); person 3 seen once.
  const seen = (id: number, t: number) =>
    id === 1 ? !(t >= 2 && t < 5) : id === 2 ? !(t >= 3 && t < 3.5) : t === 6;
  const [one, two, three] = build(rows(8, [1, 2, 3], seen));

  it("breaks a person's line where they were away, with one null between the sightings", () => {
    expect(one.id).toBe(1);
    expect(stretches(one)).toEqual([[0, 1.9], [5, 7.9]]);
    const gap = one.x.findIndex((_, i) => one.values.happy[i] === null);
    expect(one.x[gap]).toBeCloseTo(3.45);
    for (const e of EMOTIONS) expect(one.values[e][gap]).toBeNull();
    expect(one.sightings).toBe(50);
  });

  it("bridges a miss within the in-view rule, as the page counts time in view", () => {
    expect(stretches(two)).toEqual([[0, 7.9]]);
    expect(two.values.happy.every((v) => v !== null)).toBe(true);
  });

  it("never draws a line between points further apart than the rule", () => {
    for (const s of [one, two]) {
      for (let i = 1; i < s.x.length; i++) {
        if (s.values.happy[i] !== null && s.values.happy[i - 1] !== null) expect(s.x[i] - s.x[i - 1]).toBeLessThanOrEqual(1);
      }
    }
  });

  it("keeps a lone sighting as a point of its own", () => {
    expect(three.x).toEqual([6]);
    expect(three.values.happy).toEqual([0]);
  });

  it("keeps the probabilities of each row, and a row without an emotion as a null", () => {
    const [p] = build([row(0, 1, 0.25), row(0.1, 1, null), row(0.2, 1, 0.75)]);
    expect(p.values.happy).toEqual([0.25, null, 0.75]);
    expect(p.values.sad[0]).toBeCloseTo(0.125);
  });

  it("skips a row that goes back in time", () => {
    const [p] = build([row(1, 1, 0.1), row(0.5, 1, 0.9), row(1.1, 1, 0.3)]);
    expect(p.x).toEqual([1, 1.1]);
    expect(p.sightings).toBe(2);
  });

  it("averages a long session over slices of time, never across a gap", () => {
    // 100 s at 10 fps, away from 40 s to 60 s; 1 s slices: one point per second seen.
    const long = rows(100, [1], (_, t) => !(t >= 40 && t < 60));
    const [p] = build(long, sliceSeconds(100, long.length, 100));
    expect(sliceSeconds(100, long.length, 100)).toBe(1);
    expect(p.sightings).toBe(800);
    expect(p.x.length).toBe(81); // 80 one-second slices and the gap
    expect(stretches(p)).toEqual([[0.45, 39.45], [60.45, 99.45]]);
    expect(p.values.happy[0]).toBeCloseTo(0.45); // the mean of 0.0 .. 0.9
  });

  it("slices nothing while the rows fit", () => {
    expect(sliceSeconds(100, 1_500, 1_500)).toBe(0);
    expect(sliceSeconds(0, 5_000, 1_500)).toBe(0);
  });
});

describe("loneIndexes", () => {
  it("finds the values a line cannot draw: nothing on either side", () => {
    expect(loneIndexes([0.5, null, 0.2, 0.3, null, 0.1])).toEqual([0, 5]);
    expect(loneIndexes([null, 0.4, null])).toEqual([1]);
    expect(loneIndexes([0.1, 0.2])).toEqual([]);
    expect(loneIndexes([])).toEqual([]);
  });
});
