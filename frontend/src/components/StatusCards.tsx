import { CONNECTION_WORDS } from "../lib/connectionWords";
import type { Connection } from "../hooks/useGatewaySocket";
import type { LiveStats } from "../lib/liveStats";
import type { Readiness } from "../lib/api";
import type { DetectorInfo, EmotionInfo } from "../lib/types";

interface Props {
  emotionModel: Partial<EmotionInfo> | null;
  detectorModel: DetectorInfo | null;
  readiness: Readiness | null;
  stats: LiveStats | null;
  connection: Connection;
}

const ms = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? "–" : `${v < 10 ? v.toFixed(1) : Math.round(v)} ms`);
const rate = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? "–" : v.toFixed(1));
export const percent = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? `${(v * 100).toFixed(1)}%` : "–");

const modelAccuracy = (model: Partial<EmotionInfo> | null): number | null =>
  typeof model?.accuracy === "number" ? model.accuracy : null;

export function StatusCards({ emotionModel, detectorModel, readiness, stats, connection }: Props) {
  const ready = Boolean(emotionModel?.ready);
  const stages = stats?.stages;
  const stageParts = stages ? [
    { key: "queue", label: "queue", v: stages.queue_ms },
    { key: "decode", label: "decode", v: stages.decode_ms },
    { key: "detect", label: "detect", v: stages.detect_ms },
    { key: "classify", label: "classify", v: stages.classify_ms },
  ] : [];
  const stageTotal = stageParts.reduce((a, p) => a + (Number.isFinite(p.v) ? p.v : 0), 0);
  return (
    <section className="status-grid" aria-label="System status">
      <article className="card status" data-testid="status-model" data-ready={ready ? "true" : "false"}>
        <h3>Model health</h3>
        <p className={ready ? "big ok" : "big warn"}>
          <span className="dot" aria-hidden="true" />{ready ? "Emotion Model Ready" : "Not loaded"}
        </p>
        <dl className="kv">
          <dt>Version</dt><dd data-testid="model-version">{emotionModel?.version ?? "–"}</dd>
          <dt>Accuracy</dt><dd data-testid="model-accuracy">{percent(modelAccuracy(emotionModel))}</dd>
          <dt>Detector</dt><dd>{detectorModel ? (detectorModel.ready === false ? "not ready" : String(detectorModel.name ?? "ready")) : readiness ? `${readiness.detectors ?? 0} running` : "–"}</dd>
          <dt>Services</dt><dd>{readiness ? `${readiness.detectors ?? 0} detector · ${readiness.classifiers ?? 0} classifier` : "–"}</dd>
        </dl>
      </article>
      <article className="card status" data-testid="status-latency">
        <h3>Round-trip latency</h3>
        <p className="big"><span data-testid="rtt-median">{ms(stats?.rtt.median)}</span> <small>median</small></p>
        <dl className="kv">
          <dt>p95</dt><dd data-testid="rtt-p95">{ms(stats?.rtt.p95)}</dd>
          <dt>Samples</dt><dd>{stats?.rtt.count ?? 0}</dd>
          <dt>Server</dt><dd data-testid="server-ms">{ms(stages?.server_ms)}</dd>
        </dl>
        {stageTotal > 0 && (
          <div className="stage-split" aria-label="Server time by stage (median)">
            <div className="split-bar" aria-hidden="true">
              {stageParts.map((p) => (
                <span key={p.key} className={`split ${p.key}`} style={{ flexGrow: Number.isFinite(p.v) ? p.v : 0 }} />
              ))}
            </div>
            <ul className="split-legend">
              {stageParts.map((p) => (
                <li key={p.key}><span className={`swatch ${p.key}`} aria-hidden="true" />{p.label} {ms(p.v)}</li>
              ))}
            </ul>
          </div>
        )}
      </article>
      <article className="card status" data-testid="status-throughput">
        <h3>Frames per second</h3>
        <div className="triple">
          <div><span className="big" data-testid="fps-sent">{rate(stats?.sentPerSecond)}</span><small>sent</small></div>
          <div><span className="big" data-testid="fps-received">{rate(stats?.receivedPerSecond)}</span><small>received</small></div>
          <div><span className="big" data-testid="fps-dropped">{rate(stats?.droppedPerSecond)}</span><small>dropped</small></div>
        </div>
        <p className="hint">
          Totals: {stats?.totals.sent ?? 0} sent · {stats?.totals.received ?? 0} answered · {stats?.totals.errors ?? 0} rejected ·{" "}
          {stats?.totals.lost ?? 0} timed out · {stats?.totals.serverDropped ?? 0} dropped by the server
        </p>
      </article>
      <article className="card status" data-testid="status-connection" data-state={connection.state}>
        <h3>Gateway connection</h3>
        <p className={connection.state === "connected" ? "big ok" : "big warn"}>
          <span className="dot" aria-hidden="true" />
          {connection.state === "reconnecting" && connection.attempt
            ? `Reconnecting (attempt ${connection.attempt})…` : CONNECTION_WORDS[connection.state]}
        </p>
        {connection.state !== "connected" && connection.error && <p className="error-text">{connection.error}</p>}
      </article>
    </section>
  );
}
