import { useRef, useState } from "react";
import { AnalyzePanel } from "./components/AnalyzePanel";
import { LiveStage } from "./components/LiveStage";
import { PeoplePanel } from "./components/PeoplePanel";
import { PrivacyDialog } from "./components/PrivacyDialog";
import { RecordingBadge } from "./components/RecordingBadge";
import { RecordSwitch } from "./components/RecordSwitch";
import { SessionsPanel } from "./components/SessionsPanel";
import { StatusCards } from "./components/StatusCards";
import { TokenPrompt } from "./components/TokenPrompt";
import { TrainingPanel } from "./components/TrainingPanel";
import { useCamera } from "./hooks/useCamera";
import { useHashRoute } from "./hooks/useHashRoute";
import { useLiveSession } from "./hooks/useLiveSession";
import { useReadiness } from "./hooks/useReadiness";
import { DEFAULT_FPS, FPS_CHOICES } from "./lib/config";
import { CONNECTION_WORDS } from "./lib/connectionWords";
import { fpsOptions } from "./lib/limits";
import type { Tab } from "./lib/route";
import { currentToken } from "./lib/token";

const TABS: { id: Tab; label: string }[] = [
  { id: "live", label: "Live camera" },
  { id: "sessions", label: "Sessions" },
  { id: "analyze", label: "Analyse a photo" },
  { id: "training", label: "Training & models" },
];

export function App() {
  const route = useHashRoute();
  const tab = route.place.tab;
  const setTab = (next: Tab) => route.go({ tab: next, session: null });
  const [fps, setFps] = useState(DEFAULT_FPS);
  const [mirrored, setMirrored] = useState(true);
  const camera = useCamera();
  const { readiness, needsToken } = useReadiness();
  const live = useLiveSession(camera.videoRef, camera.state === "streaming", fps);
  const tabRefs = useRef<Record<Tab, HTMLButtonElement | null>>(
    { live: null, sessions: null, analyze: null, training: null });
  const rec = live.recording;
  const recordingId = rec.state.phase === "recording" || rec.state.phase === "stopping" ? rec.state.session.id : null;

  const askToken = needsToken || live.connection.state === "unauthorized";

  const inference = live.result?.inference;
  const fresh = live.result && Date.now() - live.result.receivedAt < 5_000;
  // Only an answer with faces went through a classifier: one without says nothing of the emotion model.
  const emotionModel = (fresh && inference?.faces.length ? inference.models?.emotion : undefined)
    ?? readiness?.models?.emotion ?? inference?.models?.emotion ?? null;
  const detectorModel = inference?.models?.detector ?? null;

  const onTabKey = (event: React.KeyboardEvent, index: number) => {
    const step = event.key === "ArrowRight" ? 1 : event.key === "ArrowLeft" ? -1 : 0;
    if (!step) return;
    const next = TABS[(index + step + TABS.length) % TABS.length].id;
    setTab(next);
    tabRefs.current[next]?.focus();
  };

  return (
    <div className="app">
      <a className="skip" href="#main">Skip to content</a>
      <header className="topbar">
        <div className="brand">
          <span className="logo" aria-hidden="true" />
          <div>
            <h1>Sentivis</h1>
            <p>Real-time facial emotion</p>
          </div>
        </div>
        <div className="tabs" role="tablist" aria-label="Sections">
          {TABS.map((t, i) => (
            <button key={t.id} ref={(el) => { tabRefs.current[t.id] = el; }} type="button" role="tab" id={`tab-${t.id}`}
                    aria-selected={tab === t.id} aria-controls={`panel-${t.id}`} tabIndex={tab === t.id ? 0 : -1}
                    onClick={() => setTab(t.id)} onKeyDown={(e) => onTabKey(e, i)}>
              {t.label}
            </button>
          ))}
        </div>
        <RecordingBadge state={rec.state} now={rec.now} />
        <div className={`conn conn-${live.connection.state}`} role="status" data-testid="connection-state">
          <span className="dot" aria-hidden="true" />
          {CONNECTION_WORDS[live.connection.state]}
          {(live.connection.state === "disconnected" || live.connection.state === "refused") &&
            <button type="button" onClick={live.reconnect}>Reconnect</button>}
        </div>
      </header>

      <main id="main">
        {askToken && <TokenPrompt rejected={currentToken() !== ""} />}
        <section id="panel-live" role="tabpanel" aria-labelledby="tab-live" hidden={tab !== "live"}>
          {(live.connection.state === "reconnecting" || live.connection.state === "disconnected") && (
            <p className="banner warn" role="alert">
              Lost the connection to the gateway. {live.connection.state === "reconnecting"
                ? "Reconnecting automatically; frames resume when it is back."
                : "Press Reconnect to try again."} {live.connection.error}
            </p>
          )}
          {live.connection.state === "refused" && (
            <p className="banner warn" role="alert">{live.connection.error} Press Reconnect to try again.</p>
          )}
          <div className="live-grid">
            <div className="live-main">
              <div className="controls card">
                {camera.state === "streaming" || camera.state === "starting"
                  ? <button type="button" className="danger" onClick={camera.stop}>Stop camera</button>
                  : <button type="button" className="primary" onClick={() => void camera.start()}>Start camera</button>}
                {camera.devices.length > 1 && (
                  <label>Camera
                    <select value={camera.deviceId} onChange={(e) => camera.choose(e.target.value)}>
                      {camera.devices.map((d) => <option key={d.deviceId} value={d.deviceId}>{d.label}</option>)}
                    </select>
                  </label>
                )}
                <label>Frame rate
                  <select value={live.fps} onChange={(e) => setFps(Number(e.target.value))} data-testid="fps-select">
                    {fpsOptions(FPS_CHOICES, live.limits).map(({ fps: f, allowed }) => (
                      <option key={f} value={f} disabled={!allowed}>
                        {f} fps{allowed ? "" : ` (above the gateway's limit of ${live.limits?.max_frames_per_second})`}
                      </option>))}
                  </select>
                </label>
                {live.rate.reason && (
                  <span className="hint adaptive-rate" role="status" data-testid="adaptive-rate">
                    Sending {live.rate.fps} fps: {live.rate.reason === "overloaded" ? "the server is busy" : "answers are slow"};
                    back to {live.rate.ceiling} fps as it recovers
                  </span>
                )}
                <label className="check">
                  <input type="checkbox" checked={mirrored} onChange={(e) => setMirrored(e.target.checked)} /> Mirror view
                </label>
                {live.lastError && (
                  <span className="hint last-error" title={live.lastError.message}>
                    Last rejected frame: {live.lastError.code}
                  </span>
                )}
              </div>
              <RecordSwitch state={rec.state} now={rec.now} connected={live.connection.state === "connected"}
                            onStart={rec.start} onStop={rec.stop} />
              <LiveStage videoRef={camera.videoRef} result={live.result} camera={camera.state} mirrored={mirrored}
                         cameraError={camera.error} onStart={() => void camera.start()} />
              <StatusCards emotionModel={emotionModel} detectorModel={detectorModel} readiness={readiness}
                           stats={live.stats} connection={live.connection} />
            </div>
            <PeoplePanel inView={live.people.inView} recent={live.people.recent} timeline={live.people.timeline}
                         now={live.people.now} streaming={camera.state === "streaming"} rows={live.people.rows}
                         onDownload={live.people.download} />
          </div>
        </section>
        <section id="panel-sessions" role="tabpanel" aria-labelledby="tab-sessions" hidden={tab !== "sessions"}>
          {tab === "sessions" && (
            <SessionsPanel sessionId={route.place.session} recordingId={recordingId}
                           onOpen={(session) => route.go({ tab: "sessions", session })} />
          )}
        </section>
        <section id="panel-analyze" role="tabpanel" aria-labelledby="tab-analyze" hidden={tab !== "analyze"}>
          <AnalyzePanel />
        </section>
        <section id="panel-training" role="tabpanel" aria-labelledby="tab-training" hidden={tab !== "training"}>
          {tab === "training" && <TrainingPanel />}
        </section>
      </main>
      <PrivacyDialog open={route.privacy} onClose={route.closePrivacy} />
      <footer className="footer">
        Frames are processed by your own Sentivis gateway and never stored; results are kept only while Record
        is on.{" "}
        <a href="#privacy">Privacy</a>
      </footer>
    </div>
  );
}
