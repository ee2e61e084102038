import { duration, percentage } from "../lib/format";
import type { PersonSummaryRecord } from "../lib/sessionTypes";
import { EMOTIONS, EMOTION_COLORS } from "../lib/types";

/** One row per person: time in view, dominant emotion, mean confidence, each emotion's share of the time. */
export function SessionSummaryTable({ people }: { people: PersonSummaryRecord[] }) {
  return (
    <div className="table-scroll">
      <table className="models summary-table" data-testid="session-summary">
        <thead>
          <tr>
            <th>Person</th><th>In view</th><th>Dominant</th><th>Mean confidence</th>
            {EMOTIONS.map((e) => (
              <th key={e} className="num">
                <span className="swatch" style={{ background: EMOTION_COLORS[e] }} aria-hidden="true" />{e}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {people.map((p) => (
            <tr key={p.id} data-testid="summary-row" data-person-id={p.id} data-dominant={p.dominant ?? ""}
                data-in-view-seconds={p.in_view_s}>
              <th scope="row">#{p.id}</th>
              <td>{duration(p.in_view_s * 1000)}</td>
              <td className="cap">{p.dominant ?? "–"}</td>
              <td>{percentage(p.mean_confidence)}</td>
              {EMOTIONS.map((e) => (
                <td key={e} className="num" data-testid="summary-share" data-label={e} data-share={p.shares?.[e] ?? ""}>
                  {percentage(p.shares?.[e])}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
