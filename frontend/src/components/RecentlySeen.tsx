import { RECENTLY_SEEN_MS } from "../lib/config";
import { duration } from "../lib/format";
import type { Person } from "../lib/people";
import { EMOTION_COLORS } from "../lib/types";

/** People who left the view, one line each, until RECENTLY_SEEN_MS after they were last seen. */
export function RecentlySeen({ people, now }: { people: Person[]; now: number }) {
  if (people.length === 0) return null;
  return (
    <section className="card recent" data-testid="recently-seen" aria-label="Recently seen">
      <h3>Recently seen <span className="count">kept {RECENTLY_SEEN_MS / 1000} s</span></h3>
      <ul>
        {people.map(({ id, summary }) => {
          const dominant = summary.dominant();
          return (
            <li key={id} data-testid="recent-person" data-person-id={id} data-dominant={dominant ?? ""}>
              <span className="swatch" style={{ background: dominant ? EMOTION_COLORS[dominant] : undefined }} aria-hidden="true" />
              <strong>#{id}</strong>
              {dominant ? ` · mostly ${dominant}` : ""} · {duration(summary.inViewMs)} in view ·{" "}
              left {duration(now - (summary.lastSeen ?? now))} ago
            </li>
          );
        })}
      </ul>
    </section>
  );
}
