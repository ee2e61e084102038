import { gatewayUrl } from "./config";
import type { SessionDetail, SessionFileFormat, SessionPage } from "./sessionTypes";
import { authHeaders, reportUnauthorized } from "./token";
import type { TrainingParameter } from "./trainingForm";
import type { Inference } from "./types";

export interface EpochRecord {
  epoch: number;
  train_loss?: number;
  train_accuracy?: number;
  val_loss?: number;
  val_accuracy?: number;
  learning_rate?: number;
  seconds?: number;
}

export type JobState = "queued" | "running" | "succeeded" | "failed";

export interface TrainingJob {
  id: string;
  state: JobState;
  progress?: Partial<EpochRecord> & { epochs?: number; stage?: string };
  history?: EpochRecord[];
  metrics?: Record<string, unknown> | null;
  model_version?: string | null;
  error?: string | null;
  [key: string]: unknown;
}

/** A job: the dataset and any parameters of the training schema (the rest take their defaults). */
export type TrainingRequest = { dataset: string } & Record<string, unknown>;

export interface Dataset {
  name: string;
  layout: "csv" | "folders";
  bytes: number;
}

/** How long a job would train, scaled from the shipped model's measured run (`basis`). */
export interface Estimate {
  seconds: number;
  basis: { seconds: number; epochs: number; widths: number[]; precision: string; training_faces?: number | null;
           threads?: number | null; cpu?: string | null };
}

export interface TrainingOptions {
  parameters: TrainingParameter[];
  datasets: Dataset[];
  estimate: Estimate | null;
}

export interface ModelVersion {
  version: string;
  sha256?: string;
  created_at?: string | number;
  shipped?: boolean;
  metrics?: Record<string, unknown> | null;
  card?: Record<string, unknown> | null;
}

export interface ModelList {
  /** What classifiers serve: the activated version, else the shipped one. */
  active: string | null;
  shipped: string | null;
  versions: ModelVersion[];
}

/** An API answer that was not a success, with the server's message when it sent one. */
export class ApiError extends Error {
  /** status 0: the gateway could not be reached. code: the body's `code`, when it has one. */
  constructor(readonly status: number, message: string, readonly code: string | null = null) {
    super(message);
  }
}

/** The `code` of an error body ({"error": ..., "code": "unknown_session"}), else null. */
export function errorCode(body: string): string | null {
  try {
    const code = (JSON.parse(body) as { code?: unknown }).code;
    return typeof code === "string" ? code : null;
  } catch {
    return null;
  }
}

/** The human part of an error body: {"error": "..."}, {"error": {"message": ...}}, {"message": ...} or text. */
export function errorText(status: number, body: string): string {
  let detail = body.trim();
  try {
    const json = JSON.parse(body) as Record<string, unknown>;
    const err = json.error;
    // {"error": "unauthorized", "message": "send ..."}: a code and a sentence; show both.
    if (typeof err === "string" && typeof json.message === "string") detail = `${err}: ${json.message}`;
    else if (typeof err === "string") detail = err;
    else if (err && typeof err === "object" && typeof (err as { message?: unknown }).message === "string")
      detail = (err as { message: string }).message;
    else if (typeof json.message === "string") detail = json.message;
  } catch {
    // not JSON: keep the text, unless it is an HTML page
    if (detail.startsWith("<")) detail = "";
  }
  const prefix = `HTTP ${status}`;
  return detail ? `${prefix}: ${detail.slice(0, 500)}` : prefix;
}

/** A successful answer (its body unread), or an ApiError that says why not. */
async function send(path: string, init?: RequestInit): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(`${gatewayUrl()}${path}`, { ...init, headers: { ...init?.headers, ...authHeaders() } });
  } catch (exc) {
    if ((exc as Error).name === "AbortError") throw exc;
    throw new ApiError(0, `The gateway cannot be reached (${(exc as Error).message}).`);
  }
  if (response.ok) return response;
  const body = await response.text().catch(() => "");
  if (response.status === 401) {
    reportUnauthorized();
    throw new ApiError(401, "The gateway needs an access token: enter it above (SENTIVIS_AUTH_TOKEN).",
                       errorCode(body));
  }
  throw new ApiError(response.status, errorText(response.status, body), errorCode(body));
}

async function request<T>(path: string, init?: RequestInit): Promise<T> {
  const response = await send(path, init);
  const body = await response.text();
  try {
    return JSON.parse(body) as T;
  } catch {
    throw new ApiError(response.status, `The gateway answered ${path} with something that is not JSON.`);
  }
}

const json = (body: unknown): RequestInit => ({
  method: "POST",
  headers: { "Content-Type": "application/json" },
  body: JSON.stringify(body),
});

export const api = {
  trainingOptions: () => request<TrainingOptions>("/api/v1/training/options"),
  estimate: (params: Record<string, unknown>) =>
    request<{ estimate: Estimate | null }>("/api/v1/training/estimate", json(params)),
  startTraining: (req: TrainingRequest) => request<TrainingJob>("/api/v1/training-jobs", json(req)),
  trainingJob: (id: string) => request<TrainingJob>(`/api/v1/training-jobs/${encodeURIComponent(id)}`),
  models: () => request<ModelList>("/api/v1/models"),
  activate: (version: string) =>
    request<{ active: string }>(`/api/v1/models/${encodeURIComponent(version)}/activate`, { method: "POST" }),
  analyze: (file: Blob) => request<Inference>("/api/v1/analyze", {
    method: "POST",
    headers: { "Content-Type": file.type || "application/octet-stream" },
    body: file,
  }),
  sessions: (before: string | null, limit: number) =>
    request<SessionPage>(`/api/v1/sessions?limit=${limit}${before ? `&before=${encodeURIComponent(before)}` : ""}`),
  session: (id: string) => request<SessionDetail>(`/api/v1/sessions/${encodeURIComponent(id)}`),
  /** The session's rows (CSV or JSONL) as the API streams them: read the body as it comes, or whole. */
  sessionRows: (id: string, format: SessionFileFormat, signal?: AbortSignal) =>
    send(`/api/v1/sessions/${encodeURIComponent(id)}/frames?format=${format}`, { signal }),
  deleteSession: (id: string) =>
    send(`/api/v1/sessions/${encodeURIComponent(id)}`, { method: "DELETE" }).then(() => undefined),
  // 503 (not ready) still carries the JSON that says what is missing.
  readiness: () => fetch(`${gatewayUrl()}/readyz`, { headers: authHeaders() }).then((r) => {
    if (r.status === 401) throw new ApiError(401, "unauthorized");
    return r.json() as Promise<Readiness>;
  }),
};

export interface Readiness {
  ready: boolean;
  redis?: boolean;
  detectors?: number;
  classifiers?: number;
  models?: { emotion?: { ready?: boolean; version?: string | null; accuracy?: number | null } };
}
