import { useMemo } from "react";
import type { PersonSeries } from "../lib/sessionSeries";
import { EMOTIONS, EMOTION_COLORS } from "../lib/types";
import { LineChart } from "./LineChart";

/** A person's emotion over the whole session; the times they were away are gaps. */
export function PersonTimeline({ series, durationS }: { series: PersonSeries; durationS: number }) {
  const lines = useMemo(
    () => EMOTIONS.map((e) => ({ label: e, colour: EMOTION_COLORS[e], values: series.values[e] })), [series]);
  const end = Math.max(durationS, series.x[series.x.length - 1] ?? 0, 1);
  const gaps = series.values.happy.filter((v, i) => v === null && series.x[i] !== undefined).length;
  const readings = series.values.happy.some((v) => v !== null);
  return (
    <article className="person-timeline" data-testid="person-timeline" data-person-id={series.id}
             data-points={series.x.length} data-gaps={gaps}>
      <h4>Person #{series.id} <span className="count">{series.sightings} sightings</span></h4>
      {readings ? (
        <LineChart title={`Emotion probabilities of person ${series.id} over the session`} x={series.x} series={lines}
                   xRange={[0, end]} yRange={[0, 1]} height={170} xLabel="seconds since the session started"
                   formatY={(v) => `${Math.round(v * 100)}%`} loneDots />
      ) : <p className="hint">No emotion readings: no emotion model answered while this person was in view.</p>}
    </article>
  );
}
