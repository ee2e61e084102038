import { describe, expect, it } from "vitest";
import { SessionLog, TIMELINE_COLUMNS } from "./sessionLog";
import { EMOTIONS, type Emotion, type Face } from "./types";

function face(id: number, label: Emotion | null, x = 10): Face {
  const probabilities = Object.fromEntries(EMOTIONS.map((e) => [e, e === label ? 0.7 : 0.05])) as Record<Emotion, number>;
  return { id, box: { x, y: 20, width: 30, height: 40 }, score: 0.93,
           emotion: label ? { label, confidence: 0.7, probabilities } : null };
}

const parse = (csv: string) => csv.trim().split("\n").map((line) => line.split(","));

describe("SessionLog", () => {
  it("writes one CSV row per person per answered frame, in the documented columns", () => {
    const log = new SessionLog();
    log.add(7, [face(1, "happy"), face(2, null, 200)], 10_000);
    log.add(8, [face(1, "sad")], 10_250);
    const [header, ...rows] = parse(log.toCsv());
    expect(header).toEqual([...TIMELINE_COLUMNS]);
    expect(header).toEqual(["time_s", "frame_id", "face_id", "x", "y", "width", "height", "score", "angry", "disgust",
                            "fear", "happy", "sad", "surprise", "neutral", "label", "confidence"]);
    expect(rows).toEqual([
      ["0.000", "7", "1", "10", "20", "30", "40", "0.93", "0.05", "0.05", "0.05", "0.7", "0.05", "0.05", "0.05", "happy", "0.7"],
      ["0.000", "7", "2", "200", "20", "30", "40", "0.93", "", "", "", "", "", "", "", "", ""],
      ["0.250", "8", "1", "10", "20", "30", "40", "0.93", "0.05", "0.05", "0.05", "0.05", "0.7", "0.05", "0.05", "sad", "0.7"],
    ]);
  });

  it("keeps at most maxRows, dropping the oldest, whatever the session's length", () => {
    const log = new SessionLog(300);
    for (let i = 0; i < 1_000; i++) log.add(i, [face(1, "neutral")], i * 100);
    expect(log.size).toBe(300);
    expect(log.dropped).toBe(700);
    const rows = log.all();
    expect(rows[0].frameId).toBe(700);
    expect(rows[rows.length - 1].frameId).toBe(999);
    expect(rows.map((r) => r.t)).toEqual([...rows.map((r) => r.t)].sort((a, b) => a - b)); // still in order
    const [header, first] = parse(log.toCsv());
    expect(header[0]).toBe("time_s");
    expect(first[0]).toBe("0.000"); // time from the oldest row kept
  });

  it("exports JSON with each person's summary and every row", () => {
    const log = new SessionLog();
    log.add(1, [face(4, "happy")], 1_000);
    log.add(2, [face(4, "happy"), face(5, null)], 1_100);
    log.add(3, [face(4, "angry")], 1_400);
    const doc = JSON.parse(log.toJson(2_000));
    expect(doc.started_at).toBe(new Date(1_000).toISOString());
    expect(doc.exported_at).toBe(new Date(2_000).toISOString());
    expect(doc.dropped_rows).toBe(0);
    expect(doc.rows).toHaveLength(4);
    expect(doc.rows[3]).toEqual({ time_s: 0.4, frame_id: 3, face_id: 4, box: { x: 10, y: 20, width: 30, height: 40 },
                                  score: 0.93, label: "angry", confidence: 0.7,
                                  probabilities: face(4, "angry").emotion!.probabilities });
    expect(doc.rows[2].label).toBeNull();
    expect(doc.rows[2].probabilities).toBeNull();
    const [four, five] = doc.people;
    expect(four).toMatchObject({ face_id: 4, first_seen_s: 0, last_seen_s: 0.4, sightings: 3, in_view_s: 0.4,
                                 dominant: "happy" });
    expect(four.shares.happy).toBeCloseTo(1, 10);
    expect(five).toMatchObject({ face_id: 5, sightings: 1, in_view_s: 0, dominant: null, shares: null });
  });

  it("exports an empty session", () => {
    const log = new SessionLog();
    expect(log.toCsv()).toBe(TIMELINE_COLUMNS.join(",") + "\n");
    expect(JSON.parse(log.toJson(0))).toMatchObject({ started_at: null, people: [], rows: [] });
  });
});
