import { useMemo } from "react";
import type { Person } from "../lib/people";
import type { Timeline } from "../lib/timeline";
import { EMOTIONS, EMOTION_COLORS } from "../lib/types";
import { LineChart } from "./LineChart";
import { PersonSummary } from "./PersonSummary";
import { ProbabilityBars } from "./ProbabilityBars";

interface Props {
  person: Person;
  timeline: Timeline;
  now: number;
}

/** A person in view: the emotion now, the session so far, the last 60 seconds. */
export function PersonCard({ person, timeline, now }: Props) {
  const { id, face, summary } = person;
  const { seconds, values } = useMemo(() => timeline.series(id, now), [timeline, id, now]);
  const series = useMemo(
    () => EMOTIONS.map((e) => ({ label: e, colour: EMOTION_COLORS[e], values: values[e] })), [values]);
  const emotion = face.emotion;
  return (
    <article className="card face-card" data-testid="person-card" data-person-id={id} aria-label={`Person ${id}`}
             data-samples={seconds.length} data-span-seconds={seconds.length ? (seconds[seconds.length - 1] - seconds[0]).toFixed(1) : "0"}>
      <header className="face-head">
        <h3>Person #{id}</h3>
        {emotion ? (
          <span className="pill" style={{ borderColor: EMOTION_COLORS[emotion.label] }} data-testid="face-label">
            {emotion.label} · {Math.round(emotion.confidence * 100)}%
          </span>
        ) : <span className="pill muted" data-testid="face-label">no emotion model</span>}
      </header>
      {emotion ? <ProbabilityBars emotion={emotion} />
        : <p className="hint">The person is tracked; their emotion appears once an emotion model is loaded.</p>}
      <PersonSummary summary={summary} />
      <h4 className="subhead">Last 60 seconds</h4>
      {seconds.some((_, i) => values.happy[i] !== null) ? (
        <LineChart title={`Emotion probabilities of person ${id} over the last 60 seconds`} x={seconds} series={series}
                   xRange={[-60, 0]} yRange={[0, 1]} height={150} formatY={(v) => `${Math.round(v * 100)}%`} />
      ) : <p className="hint">No emotion readings yet.</p>}
    </article>
  );
}
