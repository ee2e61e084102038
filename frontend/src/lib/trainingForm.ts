// The training form, built from the gateway's training schema (GET /api/v1/training/options,
// which is sentivis.training.TrainConfig): labels, texts, checks and the request it sends.

export interface TrainingParameter {
  name: string;
  type: "integer" | "number" | "string" | "boolean" | "integer_list" | "string_list";
  default: unknown;
  help: string;
  minimum?: number;
  maximum?: number;
  choices?: string[];
  min_items?: number;
  max_items?: number;
}

/** A form value as the user typed it, per parameter name. */
export type FormTexts = Record<string, string>;

export type Parsed = { ok: true; value: unknown } | { ok: false; error: string };

/** "learning_rate" -> "Learning rate". */
export function fieldLabel(name: string): string {
  const words = name.replace(/_/g, " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function textOf(value: unknown): string {
  return Array.isArray(value) ? value.join(",") : String(value);
}

/** The names a list field's text holds ("a,b" -> ["a", "b"]): a multi-select keeps its choice as text. */
export function listItems(text: string): string[] {
  return text.split(",").map((s) => s.trim()).filter(Boolean);
}

/** The form's starting texts: every parameter's default. */
export function defaultTexts(params: readonly TrainingParameter[]): FormTexts {
  return Object.fromEntries(params.map((p) => [p.name, textOf(p.default)]));
}

const range = (p: TrainingParameter) => `from ${p.minimum} to ${p.maximum}`;

/** One field's text as the value the API takes, or the sentence that says what is wrong. */
export function parseField(p: TrainingParameter, text: string): Parsed {
  const label = fieldLabel(p.name);
  const t = text.trim();
  if (p.type === "string_list") {
    // Teachers: any of the offered names (the committed ones), each once.
    const items = listItems(t);
    const offered = p.choices ?? [];
    const fine = items.every((v) => offered.includes(v)) && new Set(items).size === items.length;
    return fine ? { ok: true, value: items }
      : { ok: false, error: offered.length ? `${label} must be chosen from ${offered.join(", ")}.` : `${label}: none are offered.` };
  }
  if (p.choices) return p.choices.includes(t) ? { ok: true, value: t } : { ok: false, error: `${label} must be one of ${p.choices.join(", ")}.` };
  if (p.type === "integer_list") {
    const parts = t.split(/[\s,]+/).filter(Boolean);
    const values = parts.map(Number);
    const fine = parts.length >= (p.min_items ?? 1) && parts.length <= (p.max_items ?? Infinity)
      && values.every((v) => Number.isInteger(v) && v >= (p.minimum ?? -Infinity) && v <= (p.maximum ?? Infinity));
    return fine ? { ok: true, value: values }
      : { ok: false, error: `${label} must be ${p.min_items} to ${p.max_items} whole numbers ${range(p)}, separated by commas.` };
  }
  if (p.type === "integer" || p.type === "number") {
    const v = t === "" ? Number.NaN : Number(t);
    const whole = p.type === "integer";
    const fine = Number.isFinite(v) && (!whole || Number.isInteger(v))
      && v >= (p.minimum ?? -Infinity) && v <= (p.maximum ?? Infinity);
    return fine ? { ok: true, value: v } : { ok: false, error: `${label} must be ${whole ? "a whole number" : "a number"} ${range(p)}.` };
  }
  return { ok: true, value: t };
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * The job request: the dataset and every value the user changed from its default (the server
 * fills in the rest, from the same schema), or the first field's error.
 */
export function trainingRequest(params: readonly TrainingParameter[], texts: FormTexts, dataset: string):
  { ok: true; request: Record<string, unknown> } | { ok: false; error: string } {
  if (!dataset) return { ok: false, error: "Choose a data set from the datasets folder." };
  const request: Record<string, unknown> = { dataset };
  for (const p of params) {
    const parsed = parseField(p, texts[p.name] ?? textOf(p.default));
    if (!parsed.ok) return parsed;
    if (!same(parsed.value, p.default)) request[p.name] = parsed.value;
  }
  return { ok: true, request };
}

/** "about 34 min", "about 2 h 5 min", "under a minute". */
export function formatDuration(seconds: number): string {
  if (seconds < 60) return "under a minute";
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `about ${minutes} min`;
  const rest = minutes % 60;
  return `about ${Math.floor(minutes / 60)} h${rest ? ` ${rest} min` : ""}`;
}

/** "820 bytes", "34 kB", "2.7 MB", "301 MB". */
export function formatBytes(bytes: number): string {
  if (bytes < 1e3) return `${bytes} bytes`;
  if (bytes < 1e6) return `${Math.round(bytes / 1e3)} kB`;
  return `${(bytes / 1e6).toFixed(bytes < 1e7 ? 1 : 0)} MB`;
}
