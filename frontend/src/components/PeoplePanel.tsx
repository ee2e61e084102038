import type { DownloadKind } from "../hooks/usePeople";
import type { Person } from "../lib/people";
import type { Timeline } from "../lib/timeline";
import { PersonCard } from "./PersonCard";
import { RecentlySeen } from "./RecentlySeen";

interface Props {
  inView: Person[];
  recent: Person[];
  timeline: Timeline;
  now: number;
  streaming: boolean;
  /** Rows in the session's timeline: nothing to download while 0. */
  rows: number;
  onDownload: (kind: DownloadKind) => void;
}

/** The people of the live session: cards for those in view, a short list of those who left, downloads. */
export function PeoplePanel({ inView, recent, timeline, now, streaming, rows, onDownload }: Props) {
  return (
    <aside className="faces" aria-label="People" data-testid="people" data-count={inView.length}>
      <h2>People <span className="count">{inView.length} in view</span></h2>
      <div className="downloads" role="group" aria-label="Download the session's timeline">
        <button type="button" onClick={() => onDownload("csv")} disabled={rows === 0}>Download CSV</button>
        <button type="button" onClick={() => onDownload("json")} disabled={rows === 0}>Download JSON</button>
        <span className="hint">{rows} rows</span>
      </div>
      {inView.length === 0 && (
        <p className="hint card">{streaming ? "Looking for faces…" : "No one in view. Start the camera."}</p>
      )}
      {inView.map((person) => <PersonCard key={person.id} person={person} timeline={timeline} now={now} />)}
      <RecentlySeen people={recent} now={now} />
    </aside>
  );
}
