import { describe, expect, it } from "vitest";
import { IN_VIEW_GRACE_MS, RECENTLY_SEEN_MS, SIGHTING_GAP_MS } from "./config";
import { People, SessionIds, SessionSummary } from "./people";
import { EMOTIONS, type Emotion, type Face } from "./types";

function face(id: number, label: Emotion | null, x = 0): Face {
  const probabilities = Object.fromEntries(EMOTIONS.map((e) => [e, e === label ? 0.7 : 0.05])) as Record<Emotion, number>;
  return { id, box: { x, y: 0, width: 10, height: 10 }, score: 0.9,
           emotion: label ? { label, confidence: 0.7, probabilities } : null };
}

describe("SessionSummary", () => {
  it("gives each interval between sightings to the label shown at its start", () => {
    const s = new SessionSummary();
    s.add(0, "happy");
    s.add(100, "happy");
    s.add(300, "sad"); // 0-300 ms shown happy
    s.add(400, "sad"); // 300-400 ms shown sad
    expect(s.inViewMs).toBe(400);
    expect(s.emotionMs.happy).toBe(300);
    expect(s.emotionMs.sad).toBe(100);
    expect(s.shares()).toMatchObject({ happy: 0.75, sad: 0.25, neutral: 0 });
    expect(s.dominant()).toBe("happy");
    expect(s.sightings).toBe(4);
  });

  it("does not count a long absence as time in view", () => {
    const s = new SessionSummary();
    s.add(0, "neutral");
    s.add(200, "neutral");
    s.add(200 + SIGHTING_GAP_MS + 1, "neutral"); // away in between
    s.add(300 + SIGHTING_GAP_MS + 1, "neutral");
    expect(s.inViewMs).toBe(300);
    expect(s.firstSeen).toBe(0);
    expect(s.lastSeen).toBe(300 + SIGHTING_GAP_MS + 1);
  });

  it("has no shares without an emotion model, and shares that sum to one with one", () => {
    const none = new SessionSummary();
    none.add(0, null);
    none.add(100, null);
    expect(none.inViewMs).toBe(100);
    expect(none.shares()).toBeNull();
    expect(none.dominant()).toBeNull();
    const some = new SessionSummary();
    ["fear", "angry", "fear", "surprise", "fear"].forEach((label, i) => some.add(i * 100, label as Emotion));
    const shares = some.shares()!;
    expect(Object.values(shares).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 10);
    expect(some.dominant()).toBe("fear");
  });

  it("names the label shown when there is no time yet", () => {
    const s = new SessionSummary();
    s.add(5, "surprise");
    expect(s.shares()).toBeNull();
    expect(s.dominant()).toBe("surprise");
  });

  it("ignores a sighting older than the last one", () => {
    const s = new SessionSummary();
    s.add(1_000, "happy");
    s.add(500, "sad");
    expect(s.sightings).toBe(1);
    expect(s.lastSeen).toBe(1_000);
  });
});

describe("People", () => {
  it("keeps a person in view through a short miss, then lists them as recently seen, then drops them", () => {
    const people = new People();
    people.add([face(1, "happy"), face(2, "sad")], 0);
    people.add([face(2, "sad")], 500);
    expect(people.inView(500).map((p) => p.id)).toEqual([1, 2]); // #1 missed for 0.5 s: still in view
    const left = IN_VIEW_GRACE_MS + 1;
    people.add([face(2, "sad")], left);
    expect(people.inView(left).map((p) => p.id)).toEqual([2]);
    expect(people.recentlySeen(left).map((p) => p.id)).toEqual([1]);
    people.add([face(2, "sad")], RECENTLY_SEEN_MS + 1);
    expect(people.recentlySeen(RECENTLY_SEEN_MS + 1)).toEqual([]);
    expect(people.size).toBe(1); // #1 is gone for good
  });

  it("brings a person back to view with their summary", () => {
    const people = new People();
    people.add([face(3, "happy")], 0);
    people.add([face(3, "happy")], 200);
    people.add([], 5_000);
    expect(people.recentlySeen(5_000).map((p) => p.id)).toEqual([3]);
    people.add([face(3, "neutral", 40)], 6_000);
    const [back] = people.inView(6_000);
    expect(back.id).toBe(3);
    expect(back.face.box.x).toBe(40); // the latest sighting
    expect(back.summary.inViewMs).toBe(200);
    expect(back.summary.sightings).toBe(3);
  });

  it("orders cards by first sight and the recent list by last sight", () => {
    const people = new People();
    people.add([face(5, null)], 0);
    people.add([face(4, null), face(5, null)], 100);
    expect(people.inView(100).map((p) => p.id)).toEqual([5, 4]);
    people.add([face(6, null)], 200);
    people.add([face(6, null)], 5_000);
    people.add([face(4, null)], 5_100);
    expect(people.recentlySeen(5_100).map((p) => p.id)).toEqual([5]);
    expect(people.recentlySeen(5_000 + IN_VIEW_GRACE_MS + 200).map((p) => p.id)).toEqual([4, 6, 5]);
  });

  it("remembers at most maxPeople, dropping those out of view longest", () => {
    const people = new People(3);
    for (let id = 1; id <= 5; id++) people.add([face(id, "happy")], id * 100);
    expect(people.size).toBe(3);
    expect(people.recentlySeen(5_000).map((p) => p.id)).toEqual([5, 4, 3]);
  });

  it("stays bounded over a long session of people coming and going", () => {
    const people = new People();
    for (let t = 0, id = 1; t < 3_600_000; t += 100) {
      if (t % 2_000 === 0) id++; // someone new every 2 s for an hour
      people.add([face(id, "neutral")], t);
      expect(people.size).toBeLessThanOrEqual(people.maxPeople);
    }
  });
});

describe("SessionIds", () => {
  it("are the gateway's until a reconnect, then continue past every id shown", () => {
    const ids = new SessionIds();
    ids.newConnection();
    expect(ids.map([face(1, null), face(3, null)]).map((f) => f.id)).toEqual([1, 3]);
    ids.newConnection(); // the gateway numbers from 1 again
    expect(ids.map([face(1, null)]).map((f) => f.id)).toEqual([4]);
    expect(ids.map([face(2, null), face(1, null)]).map((f) => f.id)).toEqual([5, 4]);
  });

  it("leaves faces untouched when there is nothing to shift", () => {
    const ids = new SessionIds();
    const f = face(2, "happy");
    expect(ids.map([f])[0]).toBe(f);
  });
});
