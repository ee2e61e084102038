import { useSession } from "../hooks/useSession";
import { dateTime } from "../lib/format";
import { endWords, sessionDuration, sessionFlags } from "../lib/sessionList";
import type { SessionDetail } from "../lib/sessionTypes";
import { DeleteSession } from "./DeleteSession";
import { PersonTimeline } from "./PersonTimeline";
import { SessionSummaryTable } from "./SessionSummaryTable";

interface Props {
  id: string;
  recordingId: string | null;
  onBack: () => void;
  onDeleted: (detail: SessionDetail) => void;
}

/** One recorded session: what it is, each person's summary and emotion over time, its files, delete. */
export function SessionView({ id, recordingId, onBack, onDeleted }: Props) {
  const s = useSession(id, onDeleted);
  const d = s.detail;
  return (
    <section className="card session-view" aria-labelledby="session-title" data-testid="session-view"
             data-session-id={id} data-state={s.error ? "error" : d ? "loaded" : "loading"}>
      <div className="section-head">
        <h2 id="session-title">{d ? d.name : "Recorded session"}</h2>
        <div className="downloads">
          <button type="button" onClick={s.reload}>Reload</button>
          <button type="button" onClick={onBack}>All sessions</button>
        </div>
      </div>
      {s.error && <p role="alert" className="error-text" data-testid="session-error">{s.error}</p>}
      {!d && !s.error && <p className="hint">Loading the session…</p>}
      {d && (
        <>
          <SessionFacts detail={d} recordingNow={d.id === recordingId} />
          <div className="downloads session-actions" role="group" aria-label="The session's rows and deleting it">
            <button type="button" onClick={() => void s.download("csv")} disabled={s.busy !== null}>
              Download CSV
            </button>
            <button type="button" onClick={() => void s.download("jsonl")} disabled={s.busy !== null}>
              Download JSONL
            </button>
            <span className="hint">one row per person per answered frame</span>
            <DeleteSession name={d.name} frames={d.frames} busy={s.busy?.kind === "delete"} disabled={s.busy !== null}
                           onDelete={() => void s.remove()} />
          </div>
          {s.actionError && (
            <p role="alert" className="error-text" data-testid="session-action-error">{s.actionError}</p>
          )}
          <h3 className="subhead">People</h3>
          {d.people_summary.length ? <SessionSummaryTable people={d.people_summary} />
            : <p className="hint">No one was in view while this session recorded.</p>}
          <h3 className="subhead">Emotion over time</h3>
          {s.seriesError && <p role="alert" className="error-text">{s.seriesError}</p>}
          {!s.series && !s.seriesError && d.people_summary.length > 0 && <p className="hint">Loading the rows…</p>}
          <div className="person-timelines">
            {s.series?.map((p) => <PersonTimeline key={p.id} series={p} durationS={d.duration_s} />)}
          </div>
        </>
      )}
    </section>
  );
}

function SessionFacts({ detail: d, recordingNow }: { detail: SessionDetail; recordingNow: boolean }) {
  // Frames without faces carry no emotion model: the versions that answered, each once.
  const distinct = (values: (string | null)[]) =>
    [...new Set(values.filter((v): v is string => Boolean(v)))].join(", ");
  return (
    <>
      <dl className="kv wide session-facts">
        <dt>Started</dt><dd>{dateTime(d.started_at)}</dd>
        <dt>Duration</dt><dd data-testid="session-duration">{sessionDuration(d)}</dd>
        <dt>End</dt><dd>{recordingNow ? "recording now, from this page" : endWords(d)}</dd>
        <dt>Source</dt><dd>{d.source}</dd>
        <dt>People</dt><dd>{d.people}</dd>
        <dt>Frames</dt><dd data-testid="session-frames">{d.frames}</dd>
        <dt>Emotion model</dt><dd>{distinct(d.models.map((m) => m.emotion_version)) || "none"}</dd>
        <dt>Detector</dt><dd>{distinct(d.models.map((m) => m.detector)) || "–"}</dd>
      </dl>
      {sessionFlags(d).filter((f) => !(recordingNow && f.kind === "open")).map((f) => (
        <p key={f.kind} className={f.kind === "gap" ? "banner warn" : "hint"} data-testid="session-flag"
           data-kind={f.kind}>
          {f.kind === "gap" ? `${f.text}: ${gapWords(d)}` : `${f.text}.`}
        </p>
      ))}
    </>
  );
}

/** Why frames are missing and when: the records backlog was full (docs/ARCHITECTURE.md, "Recorded sessions"). */
function gapWords(d: SessionDetail): string {
  const when = d.gaps.map((g) => `${dateTime(g.started_at)}, ${g.frames} ${g.frames === 1 ? "frame" : "frames"}`);
  return "the records waiting for the database were past their bound, so these answers were not kept "
    + `(${when.join("; ")}).`;
}
