import { Fragment, useCallback, useEffect, useMemo, useState } from "react";
import { api, type ModelList, type ModelVersion, type TrainingJob } from "../lib/api";
import { TOKEN_CHANGED } from "../lib/token";
import { LineChart } from "./LineChart";
import { percent } from "./StatusCards";

const JOB_KEY = "sentivis.trainingJob";
const TERMINAL = new Set(["succeeded", "failed"]);

/** Accuracies and F1 scores as percentages, everything else as a plain number. */
function fmtMetric(key: string, v: unknown): string {
  if (typeof v === "number") return /accuracy|f1/.test(key) ? percent(v) : String(Math.round(v * 1000) / 1000);
  if (v === null || v === undefined) return "–";
  return String(v);
}

/** Whether `m` was created before the active version (activating it is a roll-back). */
function isOlder(m: ModelVersion, list: ModelList): boolean {
  const active = list.versions.find((v) => v.version === list.active);
  if (!active) return false;
  const t = (v: ModelVersion) => (typeof v.created_at === "number" ? v.created_at * 1000 : Date.parse(String(v.created_at)));
  const [a, b] = [t(m), t(active)];
  return Number.isFinite(a) && Number.isFinite(b) ? a < b : false;
}

/** Flat, scalar metrics only (per-class tables belong to the model card, not this list). */
function scalarMetrics(metrics: Record<string, unknown> | null | undefined): [string, unknown][] {
  return Object.entries(metrics ?? {})
    .filter(([k, v]) => (typeof v !== "object" || v === null) && !k.endsWith("_path"))
    .slice(0, 12);
}

export function TrainingPanel({ onModelsChanged }: { onModelsChanged?: () => void }) {
  const [form, setForm] = useState({ dataset: "fer2013/fer2013.csv.gz", epochs: "10", batch_size: "128", learning_rate: "0.001" });
  const [jobId, setJobId] = useState<string | null>(() => localStorage.getItem(JOB_KEY));
  const [job, setJob] = useState<TrainingJob | null>(null);
  const [jobError, setJobError] = useState<string | null>(null);
  const [submitting, setSubmitting] = useState(false);
  const [models, setModels] = useState<ModelList | null>(null);
  const [modelsError, setModelsError] = useState<string | null>(null);
  const [activating, setActivating] = useState<string | null>(null);

  const loadModels = useCallback(async () => {
    try {
      setModels(await api.models());
      setModelsError(null);
    } catch (exc) {
      setModelsError((exc as Error).message);
    }
  }, []);

  useEffect(() => {
    void loadModels();
    const onToken = () => void loadModels();
    window.addEventListener(TOKEN_CHANGED, onToken);
    return () => window.removeEventListener(TOKEN_CHANGED, onToken);
  }, [loadModels]);

  // Poll the job until it finishes.
  useEffect(() => {
    if (!jobId) return;
    let cancelled = false;
    let timer = 0;
    const poll = async () => {
      try {
        const j = await api.trainingJob(jobId);
        if (cancelled) return;
        setJob(j);
        setJobError(null);
        if (TERMINAL.has(j.state)) {
          void loadModels();
          return;
        }
      } catch (exc) {
        if (cancelled) return;
        setJobError((exc as Error).message);
        if ((exc as { status?: number }).status === 404) {
          localStorage.removeItem(JOB_KEY);
          return;
        }
      }
      timer = window.setTimeout(poll, 1_000);
    };
    void poll();
    return () => {
      cancelled = true;
      window.clearTimeout(timer);
    };
  }, [jobId, loadModels]);

  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    const epochs = Number(form.epochs);
    const batch = Number(form.batch_size);
    const lr = Number(form.learning_rate);
    if (!form.dataset.trim()) return setJobError("Give the dataset's path inside the datasets volume.");
    if (!Number.isInteger(epochs) || epochs < 1) return setJobError("Epochs must be a whole number of at least 1.");
    if (!Number.isInteger(batch) || batch < 1) return setJobError("Batch size must be a whole number of at least 1.");
    if (!(lr > 0)) return setJobError("Learning rate must be a number above 0.");
    setSubmitting(true);
    setJobError(null);
    try {
      const created = await api.startTraining({ dataset: form.dataset.trim(), epochs, batch_size: batch, learning_rate: lr });
      localStorage.setItem(JOB_KEY, created.id);
      setJob(created);
      setJobId(created.id);
    } catch (exc) {
      setJobError((exc as Error).message);
    } finally {
      setSubmitting(false);
    }
  };

  const activate = async (version: string) => {
    setActivating(version);
    try {
      await api.activate(version);
      await loadModels();
      setModelsError(null);
      onModelsChanged?.();
    } catch (exc) {
      setModelsError((exc as Error).message);
    } finally {
      setActivating(null);
    }
  };

  const history = job?.history ?? [];
  const epochs = useMemo(() => history.map((h) => h.epoch), [history]);
  const lossSeries = useMemo(() => [
    { label: "train loss", colour: "#60a5fa", values: history.map((h) => h.train_loss ?? null) },
    { label: "validation loss", colour: "#f472b6", values: history.map((h) => h.val_loss ?? null), dash: [6, 4] },
  ], [history]);
  const accSeries = useMemo(() => [
    { label: "train accuracy", colour: "#34d399", values: history.map((h) => h.train_accuracy ?? null) },
    { label: "validation accuracy", colour: "#facc15", values: history.map((h) => h.val_accuracy ?? null), dash: [6, 4] },
  ], [history]);
  const progress = job?.progress;
  const total = progress?.epochs ?? (Number(form.epochs) || 0);
  const done = job?.state === "succeeded" ? total : progress?.epoch ?? 0;
  const fraction = total > 0 ? Math.min(1, done / total) : 0;
  const running = job !== null && !TERMINAL.has(job.state);

  return (
    <div className="training">
      <section className="card" aria-labelledby="train-title">
        <h2 id="train-title">Train a new emotion model</h2>
        <form className="train-form" onSubmit={submit}>
          <label><span>Dataset <small>(path in the datasets volume)</small></span>
            <input value={form.dataset} onChange={(e) => setForm({ ...form, dataset: e.target.value })} required />
          </label>
          <label>Epochs
            <input type="number" min={1} step={1} value={form.epochs} onChange={(e) => setForm({ ...form, epochs: e.target.value })} required />
          </label>
          <label>Batch size
            <input type="number" min={1} step={1} value={form.batch_size} onChange={(e) => setForm({ ...form, batch_size: e.target.value })} required />
          </label>
          <label>Learning rate
            <input type="number" min={0} step="any" value={form.learning_rate} onChange={(e) => setForm({ ...form, learning_rate: e.target.value })} required />
          </label>
          <button type="submit" className="primary" disabled={submitting || running}>
            {submitting ? "Starting…" : running ? "Training…" : "Start training"}
          </button>
        </form>
        {jobError && <p role="alert" className="error-text" data-testid="training-error">{jobError}</p>}
        {job && (
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
        )}
      </section>
      <section className="card" aria-labelledby="models-title">
        <div className="section-head">
          <h2 id="models-title">Model versions</h2>
          <button type="button" onClick={() => void loadModels()}>Refresh</button>
        </div>
        {modelsError && <p role="alert" className="error-text" data-testid="models-error">{modelsError}</p>}
        {models && models.versions.length === 0 && <p className="hint">No model is registered yet. Train one above.</p>}
        {models && models.versions.length > 0 && (
          <table className="models">
            <thead><tr><th scope="col">Version</th><th scope="col">Created</th><th scope="col">Accuracy</th><th scope="col">Status</th><th scope="col"><span className="sr-only">Action</span></th></tr></thead>
            <tbody>
              {models.versions.map((m) => {
                const active = m.version === models.active;
                const metrics = (m.metrics ?? (m.card as { metrics?: Record<string, unknown> } | null)?.metrics ?? {}) as Record<string, unknown>;
                const acc = metrics.test_accuracy ?? metrics.accuracy ?? metrics.val_accuracy;
                return (
                  <tr key={m.version} className={active ? "active" : undefined}>
                    <td><code>{m.version}</code></td>
                    <td>{m.created_at ? new Date(typeof m.created_at === "number" ? m.created_at * 1000 : m.created_at).toLocaleString() : "–"}</td>
                    <td>{percent(acc)}</td>
                    <td>{active ? <span className="pill ok">active</span> : <span className="pill muted">inactive</span>}</td>
                    <td>
                      {!active && (
                        <button type="button" disabled={activating !== null} onClick={() => void activate(m.version)}>
                          {activating === m.version ? "Activating…" : isOlder(m, models) ? "Roll back to this" : "Activate"}
                        </button>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </section>
    </div>
  );
}
