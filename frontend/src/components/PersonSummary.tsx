import { duration } from "../lib/format";
import type { SessionSummary } from "../lib/people";
import { EMOTIONS, EMOTION_COLORS } from "../lib/types";

/** A person's session: time in view, the dominant emotion and each emotion's share of the time. */
export function PersonSummary({ summary }: { summary: SessionSummary }) {
  const shares = summary.shares();
  const dominant = summary.dominant();
  return (
    <section className="summary" data-testid="person-summary" data-dominant={dominant ?? ""}
             data-in-view-seconds={(summary.inViewMs / 1000).toFixed(1)} aria-label="Session summary">
      <p className="summary-line">
        In view <strong data-testid="time-in-view">{duration(summary.inViewMs)}</strong>
        {dominant && <> · mostly <strong data-testid="dominant-emotion">{dominant}</strong></>}
      </p>
      {shares ? (
        <>
          <div className="share-bar" aria-hidden="true">
            {EMOTIONS.filter((e) => shares[e] > 0).map((e) => (
              <span key={e} style={{ flexGrow: shares[e], background: EMOTION_COLORS[e] }} />
            ))}
          </div>
          <ul className="share-legend" aria-label="Share of the time per emotion">
            {EMOTIONS.filter((e) => shares[e] >= 0.005).map((e) => (
              <li key={e} data-testid="emotion-share" data-label={e} data-share={shares[e].toFixed(4)}>
                <span className="swatch" style={{ background: EMOTION_COLORS[e] }} aria-hidden="true" />
                {e} {Math.round(shares[e] * 100)}%
              </li>
            ))}
          </ul>
        </>
      ) : <p className="hint">No emotion shown yet.</p>}
    </section>
  );
}
