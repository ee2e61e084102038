import { useState } from "react";
import { dateTime, duration } from "../lib/format";
import { MAX_SESSION_NAME, type EndedRecording, type RecordingState } from "../lib/recording";
import { hashOf } from "../lib/route";

interface Props {
  state: RecordingState;
  now: number;
  connected: boolean;
  onStart: (name: string) => void;
  onStop: () => void;
}

/**
 * Consent first: nothing is recorded until this switch is turned on with a session name, and the
 * gateway confirms. While on, the session's name, elapsed time and the answers recorded show; a
 * lost connection turns it off and says so (the gateway ends the session with the connection).
 */
export function RecordSwitch({ state, now, connected, onStart, onStop }: Props) {
  const [name, setName] = useState("");
  const on = state.phase === "recording" || state.phase === "stopping";
  const pending = state.phase === "starting" || state.phase === "stopping";
  const toggle = () => (on ? onStop() : onStart(name));
  return (
    <section className={`card record${on ? " on" : ""}`} aria-labelledby="record-title" data-testid="record"
             data-phase={state.phase}>
      <form className="record-row" onSubmit={(e) => { e.preventDefault(); if (!on && !pending) onStart(name); }}>
        <h2 id="record-title" className="sr-only">Record a session</h2>
        <label className="record-name">Session name
          <input id="session-name" value={on ? state.session.name : name} maxLength={MAX_SESSION_NAME}
                 onChange={(e) => setName(e.target.value)} disabled={state.phase !== "off"} required autoComplete="off"
                 placeholder="e.g. participant 7, task 2" aria-describedby="record-consent" />
        </label>
        <button type="button" role="switch" aria-checked={on} className="switch" data-testid="record-switch"
                onClick={toggle} disabled={pending || (!on && !connected)}>
          <span className="switch-track" aria-hidden="true"><span className="switch-thumb" /></span>
          Record
        </button>
        {state.phase === "starting" && <span className="hint" role="status">Asking the gateway to record…</span>}
        {on && (
          <p className="rec-indicator" role="status" data-testid="recording-indicator"
             data-session-id={state.session.id} data-frames={state.session.frames} data-rows={state.session.rows}>
            <span className="rec-dot" aria-hidden="true" />
            {state.phase === "stopping" ? "Stopping" : "Recording"} “{state.session.name}” ·{" "}
            <span data-testid="recording-elapsed">{duration(now - state.session.startedAt)}</span> ·{" "}
            {state.session.frames} {state.session.frames === 1 ? "answer" : "answers"}, {state.session.rows} person rows
          </p>
        )}
        {!on && !connected && state.phase === "off" && (
          <span className="hint">Recording needs the connection to the gateway.</span>
        )}
      </form>
      <p id="record-consent" className="hint consent">
        Recording keeps what Sentivis measures for each answered frame (boxes, emotions, times; never images) in the
        sessions database until it is deleted. Record only with the informed consent of everyone in view.{" "}
        <a href="#privacy" data-testid="privacy-link">What is kept, where, for how long, and the law</a>
      </p>
      {state.error && <p role="alert" className="error-text" data-testid="record-error">{state.error}</p>}
      {state.phase === "off" && state.ended && <EndedNotice ended={state.ended} />}
    </section>
  );
}

function EndedNotice({ ended }: { ended: EndedRecording }) {
  const answers = `${ended.frames} ${ended.frames === 1 ? "answer" : "answers"}`;
  const summary = `${duration(ended.endedAt - ended.startedAt)}, ${answers}`;
  const link = <a href={hashOf({ tab: "sessions", session: ended.id })}>Open it in Sessions</a>;
  if (ended.reason === "disconnected") {
    return (
      <p role="alert" className="banner warn" data-testid="recording-ended" data-reason="disconnected"
         data-session-id={ended.id} data-frames={ended.frames} data-rows={ended.rows}>
        The connection to the gateway was lost at {dateTime(ended.endedAt / 1000)}, which ended the recording
        “{ended.name}” ({summary} received until then). The page is not recording now; switch Record on to start a
        new session. {link}
      </p>
    );
  }
  return (
    <p className="hint" role="status" data-testid="recording-ended" data-reason="stopped" data-session-id={ended.id}
       data-frames={ended.frames} data-rows={ended.rows}>
      Recorded “{ended.name}”: {summary}. {link}
    </p>
  );
}
