import { EMOTIONS, EMOTION_COLORS, type EmotionReading } from "../lib/types";

/** One labelled bar per emotion, with the percentage in text. */
export function ProbabilityBars({ emotion }: { emotion: EmotionReading }) {
  return (
    <ul className="bars" aria-label="Emotion probabilities">
      {EMOTIONS.map((label) => {
        const p = emotion.probabilities?.[label] ?? 0;
        const pct = Math.round(p * 100);
        const top = label === emotion.label;
        return (
          <li key={label} className={top ? "bar top" : "bar"} data-testid="probability" data-label={label} data-p={p.toFixed(4)}>
            <span className="bar-label">{label}</span>
            <span className="bar-track" aria-hidden="true">
              <span className="bar-fill" style={{ width: `${Math.max(0, Math.min(100, p * 100))}%`, background: EMOTION_COLORS[label] }} />
            </span>
            <span className="bar-value">{pct}%</span>
          </li>
        );
      })}
    </ul>
  );
}
