import { describe, expect, it } from "vitest";
import { Timeline } from "./timeline";
import { EMOTIONS, type Emotion, type Face } from "./types";

function face(id: number, label: Emotion | null): Face {
  const probabilities = Object.fromEntries(EMOTIONS.map((e) => [e, e === label ? 0.7 : 0.05])) as Record<Emotion, number>;
  return {
    id,
    box: { x: 0, y: 0, width: 10, height: 10 },
    score: 0.9,
    emotion: label ? { label, confidence: 0.7, probabilities } : null,
  };
}

describe("Timeline", () => {
  it("keeps a separate history per face id", () => {
    const tl = new Timeline();
    tl.add([face(1, "happy"), face(2, "sad")], 1_000);
    tl.add([face(1, "neutral")], 2_000);
    expect(tl.faceIds()).toEqual([1, 2]);
    expect(tl.history(1).map((s) => s.label)).toEqual(["happy", "neutral"]);
    expect(tl.history(2).map((s) => s.label)).toEqual(["sad"]);
  });

  it("drops samples older than 60 s and forgets a face with none left", () => {
    const tl = new Timeline();
    tl.add([face(1, "happy"), face(2, "sad")], 0);
    tl.add([face(1, "happy")], 30_000);
    tl.add([face(1, "angry")], 60_000);
    // At 60 s the sample at 0 is exactly on the edge and stays.
    expect(tl.history(1).map((s) => s.t)).toEqual([0, 30_000, 60_000]);
    tl.add([face(1, "fear")], 60_001);
    expect(tl.history(1).map((s) => s.t)).toEqual([30_000, 60_000, 60_001]);
    expect(tl.faceIds()).toEqual([1]);
    expect(tl.history(2)).toEqual([]);
  });

  it("prunes on its own when no face is seen", () => {
    const tl = new Timeline(10_000);
    tl.add([face(5, "surprise")], 0);
    tl.add([], 10_001);
    expect(tl.faceIds()).toEqual([]);
  });

  it("records a face with no emotion model as a gap, not a reading", () => {
    const tl = new Timeline();
    tl.add([face(3, null)], 500);
    const { seconds, values } = tl.series(3, 1_500);
    expect(seconds).toEqual([-1]);
    expect(values.happy).toEqual([null]);
  });

  it("gives chart columns in seconds before now, one per emotion", () => {
    const tl = new Timeline();
    tl.add([face(1, "happy")], 10_000);
    tl.add([face(1, "sad")], 12_500);
    const { seconds, values } = tl.series(1, 15_000);
    expect(seconds).toEqual([-5, -2.5]);
    expect(values.happy).toEqual([0.7, 0.05]);
    expect(values.sad).toEqual([0.05, 0.7]);
    expect(Object.keys(values)).toEqual([...EMOTIONS]);
  });

  it("ignores a reading older than the face's last one", () => {
    const tl = new Timeline();
    tl.add([face(1, "happy")], 5_000);
    tl.add([face(1, "sad")], 4_000);
    expect(tl.history(1).map((s) => s.label)).toEqual(["happy"]);
  });
});

describe("Timeline at camera rate", () => {
  it("keeps the whole last minute of 10 Hz readings and no more", () => {
    const tl = new Timeline();
    for (let t = 0; t <= 90_000; t += 100) tl.add([face(1, "happy")], t);
    const { seconds } = tl.series(1, 90_000);
    expect(seconds.length).toBe(601);
    expect(seconds[0]).toBe(-60);
    expect(seconds[seconds.length - 1]).toBe(0);
  });
});
