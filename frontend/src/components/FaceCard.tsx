import { useMemo } from "react";
import type { Timeline } from "../lib/timeline";
import { EMOTIONS, EMOTION_COLORS, type Face } from "../lib/types";
import { LineChart } from "./LineChart";
import { ProbabilityBars } from "./ProbabilityBars";

interface Props {
  face: Face | null; // null: the face left the view but its timeline is still within 60 s
  faceId: number;
  timeline: Timeline;
  now: number;
}

export function FaceCard({ face, faceId, timeline, now }: Props) {
  const { seconds, values } = useMemo(() => timeline.series(faceId, now), [timeline, faceId, now]);
  const series = useMemo(
    () => EMOTIONS.map((e) => ({ label: e, colour: EMOTION_COLORS[e], values: values[e] })), [values]);
  const dominant = timeline.dominant(faceId);
  const emotion = face?.emotion ?? null;
  return (
    <article className="card face-card" data-testid="face-card" data-face-id={faceId} aria-label={`Face ${faceId}`}
             data-samples={seconds.length} data-span-seconds={seconds.length ? (seconds[seconds.length - 1] - seconds[0]).toFixed(1) : "0"}>
      <header className="face-head">
        <h3>Face #{faceId}</h3>
        {face === null ? <span className="pill muted">out of view</span>
          : emotion ? (
            <span className="pill" style={{ borderColor: EMOTION_COLORS[emotion.label] }} data-testid="face-label">
              {emotion.label} · {Math.round(emotion.confidence * 100)}%
            </span>
          ) : <span className="pill muted" data-testid="face-label">no emotion model</span>}
      </header>
      {emotion ? <ProbabilityBars emotion={emotion} />
        : face ? <p className="hint">The face is tracked; its emotion appears once an emotion model is loaded.</p> : null}
      <h4 className="subhead">
        Last 60 seconds{dominant ? <> · mostly <strong>{dominant}</strong></> : null}
      </h4>
      {seconds.some((_, i) => values.happy[i] !== null) ? (
        <LineChart title={`Emotion probabilities of face ${faceId} over the last 60 seconds`} x={seconds} series={series}
                   xRange={[-60, 0]} yRange={[0, 1]} height={150} formatY={(v) => `${Math.round(v * 100)}%`} />
      ) : <p className="hint">No emotion readings yet.</p>}
    </article>
  );
}
