import { useSessionList } from "../hooks/useSessionList";
import { dateTime } from "../lib/format";
import { hashOf } from "../lib/route";
import { sessionDuration, sessionFlags } from "../lib/sessionList";
import type { SessionListItem } from "../lib/sessionTypes";

interface Props {
  recordingId: string | null;
  notice: string | null;
  onDismissNotice: () => void;
}

/** The recorded sessions, newest first, a page at a time. */
export function SessionList({ recordingId, notice, onDismissNotice }: Props) {
  const list = useSessionList();
  const sessions = list.page?.sessions ?? [];
  return (
    <section className="card sessions" aria-labelledby="sessions-title" data-testid="session-list"
             data-loading={list.loading ? "true" : "false"} data-page={list.pageNumber}>
      <div className="section-head">
        <h2 id="sessions-title">Recorded sessions</h2>
        <button type="button" onClick={list.reload} disabled={list.loading}>Refresh</button>
      </div>
      {notice && (
        <p className="notice" role="status" data-testid="sessions-notice">
          {notice} <button type="button" className="link" onClick={onDismissNotice}>Dismiss</button>
        </p>
      )}
      {list.error && <p role="alert" className="error-text" data-testid="sessions-error">{list.error}</p>}
      {list.page && sessions.length === 0 && (
        <p className="hint" data-testid="sessions-empty">
          No recorded sessions yet. Switch Record on in the Live camera tab, with a session name, to record one.
        </p>
      )}
      {sessions.length > 0 && (
        <div className="table-scroll">
          <table className="models session-table">
            <thead>
              <tr><th>Name</th><th>Started</th><th>Duration</th><th>People</th><th>Frames</th><th>Notes</th></tr>
            </thead>
            <tbody>
              {sessions.map((s) => <SessionRow key={s.id} session={s} recordingNow={s.id === recordingId} />)}
            </tbody>
          </table>
        </div>
      )}
      {(list.hasNewer || list.hasOlder) && (
        <nav className="pager" aria-label="Pages of sessions">
          <button type="button" onClick={list.newer} disabled={!list.hasNewer || list.loading}>Newer</button>
          <span className="hint">Page {list.pageNumber}</span>
          <button type="button" onClick={list.older} disabled={!list.hasOlder || list.loading}>Older</button>
        </nav>
      )}
    </section>
  );
}

function SessionRow({ session: s, recordingNow }: { session: SessionListItem; recordingNow: boolean }) {
  const flags = sessionFlags(s).filter((f) => !(recordingNow && f.kind === "open"));
  return (
    <tr data-testid="session-row" data-session-id={s.id} data-people={s.people} data-frames={s.frames}
        data-gap-frames={s.gap_frames}>
      <td><a href={hashOf({ tab: "sessions", session: s.id })}>{s.name}</a></td>
      <td>{dateTime(s.started_at)}</td>
      <td>{sessionDuration(s)}</td>
      <td>{s.people}</td>
      <td>{s.frames}</td>
      <td><div className="flags">
        {recordingNow && <span className="pill rec">recording now</span>}
        {s.source !== "live" && <span className="pill muted">{s.source}</span>}
        {flags.map((f) => (
          <span key={f.kind} className={`pill flag-${f.kind}`} data-testid="session-flag" data-kind={f.kind}>
            {f.kind === "gap" ? "⚠ " : ""}{f.text}
          </span>
        ))}
      </div></td>
    </tr>
  );
}
