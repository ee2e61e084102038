import { useCallback, useEffect, useState } from "react";
import { api, type Estimate, type TrainingOptions, type TrainingRequest } from "../lib/api";
import { defaultTexts, parseField, trainingRequest, type FormTexts } from "../lib/trainingForm";
import { useLoadWithToken } from "./useLoadWithToken";

const ESTIMATE_DELAY_MS = 300; // ask for a new estimate once typing pauses

/**
 * The training form's state: the options the gateway offers (its schema, the data sets found in
 * its datasets folder), the values as typed, and the duration estimate for them.
 */
export function useTrainingForm() {
  const [options, setOptions] = useState<TrainingOptions | null>(null);
  const [optionsError, setOptionsError] = useState<string | null>(null);
  const [texts, setTexts] = useState<FormTexts>({});
  const [dataset, setDataset] = useState("");
  const [estimate, setEstimate] = useState<Estimate | null>(null);

  const load = useCallback(async () => {
    try {
      const loaded = await api.trainingOptions();
      setOptions(loaded);
      setOptionsError(null);
      setTexts((typed) => ({ ...defaultTexts(loaded.parameters), ...typed }));
      setDataset((chosen) => (loaded.datasets.some((d) => d.name === chosen) ? chosen : loaded.datasets[0]?.name ?? ""));
      setEstimate(loaded.estimate);
    } catch (exc) {
      setOptionsError((exc as Error).message);
    }
  }, []);

  useLoadWithToken(load);

  // The estimate follows the values; while one is invalid the last estimate stays.
  useEffect(() => {
    if (!options) return;
    const values: Record<string, unknown> = {};
    for (const p of options.parameters) {
      const parsed = parseField(p, texts[p.name] ?? "");
      if (!parsed.ok) return;
      values[p.name] = parsed.value;
    }
    let cancelled = false;
    const timer = window.setTimeout(() => {
      api.estimate(values).then((r) => !cancelled && setEstimate(r.estimate)).catch(() => undefined);
    }, ESTIMATE_DELAY_MS);
    return () => {
      cancelled = true;
      window.clearTimeout(timer);
    };
  }, [options, texts]);

  const setText = useCallback((name: string, text: string) => setTexts((t) => ({ ...t, [name]: text })), []);

  /** The request to send, or the sentence saying which value is wrong. */
  const request = useCallback((): { ok: true; request: TrainingRequest } | { ok: false; error: string } => {
    if (!options) return { ok: false, error: "The training options have not loaded yet." };
    const built = trainingRequest(options.parameters, texts, dataset);
    return built.ok ? { ok: true, request: built.request as TrainingRequest } : built;
  }, [options, texts, dataset]);

  return { options, optionsError, reload: load, texts, setText, dataset, setDataset, estimate, request };
}
