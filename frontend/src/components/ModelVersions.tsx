import type { ModelList, ModelVersion } from "../lib/api";
import { percent } from "./StatusCards";

/** Whether `m` was created before the active version (activating it is a roll-back). */
function isOlder(m: ModelVersion, list: ModelList): boolean {
  const active = list.versions.find((v) => v.version === list.active);
  if (!active) return false;
  const t = (v: ModelVersion) => (typeof v.created_at === "number" ? v.created_at * 1000 : Date.parse(String(v.created_at)));
  const [a, b] = [t(m), t(active)];
  return Number.isFinite(a) && Number.isFinite(b) ? a < b : false;
}

/** Test accuracy from the registry's metrics or, for the shipped model, its card. */
function accuracyOf(m: ModelVersion): unknown {
  const metrics = m.metrics ?? {};
  const card = (m.card ?? {}) as { accuracy?: unknown; metrics?: { test?: { accuracy?: unknown } } };
  return metrics.test_accuracy ?? metrics.accuracy ?? card.metrics?.test?.accuracy ?? card.accuracy ?? metrics.val_accuracy;
}

interface Props {
  models: ModelList | null;
  error: string | null;
  activating: string | null;
  onActivate: (version: string) => void;
  onRefresh: () => void;
}

/** The registered emotion-model versions: which one is served, the shipped one, activate or roll back. */
export function ModelVersions({ models, error, activating, onActivate, onRefresh }: Props) {
  return (
    <section className="card" aria-labelledby="models-title">
      <div className="section-head">
        <h2 id="models-title">Model versions</h2>
        <button type="button" onClick={onRefresh}>Refresh</button>
      </div>
      {error && <p role="alert" className="error-text" data-testid="models-error">{error}</p>}
      {models && models.versions.length === 0 && (
        <p className="hint" data-testid="models-empty">No classifier has registered its model yet, and none has been trained.</p>
      )}
      {models && models.versions.length > 0 && (
        <table className="models">
          <thead><tr><th scope="col">Version</th><th scope="col">Created</th><th scope="col">Accuracy</th><th scope="col">Status</th><th scope="col"><span className="sr-only">Action</span></th></tr></thead>
          <tbody>
            {models.versions.map((m) => {
              const active = m.version === models.active;
              return (
                <tr key={m.version} className={active ? "active" : undefined} data-testid="model-row" data-version={m.version}
                    data-active={active ? "true" : "false"} data-shipped={m.shipped ? "true" : "false"}>
                  <td><code>{m.version}</code>{m.shipped && <> <span className="pill muted">shipped</span></>}</td>
                  <td>{m.created_at ? new Date(typeof m.created_at === "number" ? m.created_at * 1000 : m.created_at).toLocaleString() : "–"}</td>
                  <td>{percent(accuracyOf(m))}</td>
                  <td>{active ? <span className="pill ok">active</span> : <span className="pill muted">inactive</span>}</td>
                  <td>
                    {!active && (
                      <button type="button" disabled={activating !== null} onClick={() => onActivate(m.version)}>
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
  );
}
