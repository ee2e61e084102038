import type { Estimate, TrainingOptions } from "../lib/api";
import { fieldLabel, formatBytes, formatDuration, listItems, type FormTexts, type TrainingParameter } from "../lib/trainingForm";

// Shown up front; the schema's other parameters sit under "More settings", in the schema's order.
const MAIN = new Set(["epochs", "minutes", "batch_size", "learning_rate", "widths", "precision"]);

interface Props {
  options: TrainingOptions;
  texts: FormTexts;
  dataset: string;
  estimate: Estimate | null;
  busy: "submitting" | "running" | null;
  onText: (name: string, text: string) => void;
  onDataset: (name: string) => void;
  onSubmit: () => void;
  onReload: () => void;
}

function Field({ param, text, onText }: { param: TrainingParameter; text: string; onText: Props["onText"] }) {
  const id = `train-${param.name}`;
  const offered = param.choices ?? [];
  const input = param.type === "string_list" ? (
    // A multi-select of the offered names (teachers: the committed ones); none chosen is the default.
    <select id={id} multiple value={listItems(text)} disabled={offered.length === 0} aria-describedby={`${id}-help`}
            size={Math.min(Math.max(offered.length, 2), 6)}
            onChange={(e) => onText(param.name, Array.from(e.target.selectedOptions, (o) => o.value).join(","))}>
      {offered.map((c) => <option key={c} value={c}>{c}</option>)}
    </select>
  ) : param.choices ? (
    <select id={id} value={text} onChange={(e) => onText(param.name, e.target.value)} aria-describedby={`${id}-help`}>
      {param.choices.map((c) => <option key={c} value={c}>{c}</option>)}
    </select>
  ) : (
    <input id={id} value={text} onChange={(e) => onText(param.name, e.target.value)} aria-describedby={`${id}-help`}
           type={param.type === "integer" || param.type === "number" ? "number" : "text"}
           min={param.type === "integer_list" ? undefined : param.minimum}
           max={param.type === "integer_list" ? undefined : param.maximum}
           step={param.type === "integer" ? 1 : "any"} />
  );
  return (
    <div className="train-field">
      <label htmlFor={id}>{fieldLabel(param.name)}</label>
      {input}
      <small id={`${id}-help`} className="hint">
        {param.help}
        {param.type === "string_list" && (offered.length ? " (Ctrl- or Cmd-click to choose several)" : " (none committed yet)")}
      </small>
    </div>
  );
}

function EstimateLine({ estimate }: { estimate: Estimate | null }) {
  if (!estimate) return <p className="hint" data-testid="training-estimate">No duration estimate: the shipped model's card records no training run.</p>;
  const b = estimate.basis;
  return (
    <p className="hint" data-testid="training-estimate" data-seconds={estimate.seconds}>
      <strong>Takes {formatDuration(estimate.seconds)} on a CPU like {b.cpu ?? "the one that trained the shipped model"}</strong>
      {" "}(scaled from the shipped model's run: {b.epochs} epochs in {Math.round(b.seconds / 60)} min
      {b.threads ? ` on ${b.threads} threads` : ""}{b.training_faces ? `, ${b.training_faces.toLocaleString("en")} training faces` : ""};
      more data takes longer).
    </p>
  );
}

/** The training form: every job parameter of the gateway's schema, and a data set of its datasets folder. */
export function TrainingForm({ options, texts, dataset, estimate, busy, onText, onDataset, onSubmit, onReload }: Props) {
  const main = options.parameters.filter((p) => MAIN.has(p.name));
  const more = options.parameters.filter((p) => !MAIN.has(p.name));
  const empty = options.datasets.length === 0;
  return (
    <form className="train-form" noValidate onSubmit={(e) => { e.preventDefault(); onSubmit(); }}>
      <div className="train-field dataset">
        <label htmlFor="train-dataset">Dataset</label>
        <select id="train-dataset" value={dataset} onChange={(e) => onDataset(e.target.value)} disabled={empty}
                data-testid="dataset-select">
          {options.datasets.map((d) => (
            <option key={d.name} value={d.name}>{d.name} ({d.layout === "csv" ? "CSV" : "class folders"}, {formatBytes(d.bytes)})</option>
          ))}
        </select>
        <button type="button" onClick={onReload}>Refresh</button>
      </div>
      {empty && (
        <p className="hint warn" role="status" data-testid="datasets-empty">
          The datasets folder has no data set yet. Put FER-2013 there as <code>fer2013.csv</code> or{" "}
          <code>fer2013.csv.gz</code>, or as class folders <code>train/&lt;class&gt;/</code> and{" "}
          <code>test/&lt;class&gt;/</code>, as <code>datasets/README.md</code> explains; then press Refresh.
        </p>
      )}
      <div className="train-fields">
        {main.map((p) => <Field key={p.name} param={p} text={texts[p.name] ?? ""} onText={onText} />)}
      </div>
      {more.length > 0 && (
        <details className="train-more">
          <summary>More settings ({more.length})</summary>
          <div className="train-fields">
            {more.map((p) => <Field key={p.name} param={p} text={texts[p.name] ?? ""} onText={onText} />)}
          </div>
        </details>
      )}
      <EstimateLine estimate={estimate} />
      <button type="submit" className="primary" disabled={busy !== null || empty}>
        {busy === "submitting" ? "Starting…" : busy === "running" ? "Training…" : "Start training"}
      </button>
    </form>
  );
}
