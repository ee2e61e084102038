import { duration } from "../lib/format";
import type { RecordingState } from "../lib/recording";

/** In the header, on every tab: this page is recording. */
export function RecordingBadge({ state, now }: { state: RecordingState; now: number }) {
  if (state.phase !== "recording" && state.phase !== "stopping") return null;
  return (
    <a className="rec-badge" href="#live" data-testid="recording-badge" title={`Recording “${state.session.name}”`}>
      <span className="rec-dot" aria-hidden="true" />REC {duration(now - state.session.startedAt)}
    </a>
  );
}
