import { Fragment, useMemo } from "react";
import type { TrainingJob } from "../lib/api";
import { LineChart } from "./LineChart";
import { percent } from "./StatusCards";

/** Accuracies and F1 scores as percentages, everything else as a plain number. */
function fmtMetric(key: string, v: unknown): string {
  if (typeof v === "number") return /accuracy|f1/.test(key) ? percent(v) : String(Math.round(v * 1000) / 1000);
  if (v === null || v === undefined) return "–";
  return String(v);
}

/** Flat, scalar metrics only (per-class tables belong to the model card, not this list). */
function scalarMetrics(metrics: Record<string, unknown> | null | undefined): [string, unknown][] {
  return Object.entries(metrics ?? {})
    .filter(([k, v]) => (typeof v !== "object" || v === null) && !k.endsWith("_path"))
    .slice(0, 12);
}

/** One training job: state, progress, loss and accuracy curves, and the finished model's metrics. */
export function TrainingJobView({ job }: { job: TrainingJob }) {
  const history = useMemo(() => job.history ?? [], [job.history]);
  const epochs = useMemo(() => history.map((h) => h.epoch), [history]);
  const lossSeries = useMemo(() => [
    { label: "train loss", colour: "#60a5fa", values: history.map((h) => h.train_loss ?? null) },
    { label: "validation loss", colour: "#f472b6", values: history.map((h) => h.val_loss ?? null), dash: [6, 4] },
  ], [history]);
  const accSeries = useMemo(() => [
    { label: "train accuracy", colour: "#34d399", values: history.map((h) => h.train_accuracy ?? null) },
    { label: "validation accuracy", colour: "#facc15", values: history.map((h) => h.val_accuracy ?? null), dash: [6, 4] },
  ], [history]);
  const progress = job.progress;
  const total = progress?.epochs ?? 0;
  const done = job.state === "succeeded" ? total : progress?.epoch ?? 0;
  const fraction = total > 0 ? Math.min(1, done / total) : 0;
  return (
    <div className="job" data-testid="training-job" data-state={job.state}>
      <div className="job-head">
        <span>Job <code>{job.id}</code></span>
        <span className={`pill state-${job.state}`}>{job.state}</span>
      </div>
      <div className="progress" role="progressbar" aria-label="Training progress" aria-valuemin={0}
           aria-valuemax={total || 1} aria-valuenow={done} aria-valuetext={`epoch ${done} of ${total}`}>
        <span style={{ width: `${fraction * 100}%` }} />
      </div>
      <p className="hint">
        Epoch {done} of {total || "?"}
        {typeof progress?.stage === "string" && job.state !== "succeeded" && <> · {progress.stage}</>}
        {progress?.train_loss !== undefined && <> · train loss {fmtMetric("train_loss", progress.train_loss)}</>}
        {progress?.val_accuracy !== undefined && <> · validation accuracy {percent(progress.val_accuracy)}</>}
      </p>
      {job.error && <p role="alert" className="error-text">Training failed: {job.error}</p>}
      {history.length > 0 && (
        <div className="curves">
          <LineChart title="Loss per epoch" x={epochs} series={lossSeries} xLabel="epoch" height={180} integerX />
          <LineChart title="Accuracy per epoch" x={epochs} series={accSeries} xLabel="epoch" height={180} integerX
                     yRange={[0, 1]} formatY={(v) => `${Math.round(v * 100)}%`} />
        </div>
      )}
      {job.state === "succeeded" && (
        <div className="finished">
          <h3>Finished model {job.model_version ? <code>{job.model_version}</code> : null}</h3>
          <dl className="kv wide">
            {scalarMetrics(job.metrics).map(([k, v]) => (<Fragment key={k}><dt>{k.replace(/_/g, " ")}</dt><dd>{fmtMetric(k, v)}</dd></Fragment>))}
          </dl>
        </div>
      )}
    </div>
  );
}
