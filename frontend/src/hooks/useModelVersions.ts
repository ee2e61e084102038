import { useCallback, useState } from "react";
import { api, type ModelList } from "../lib/api";
import { useLoadWithToken } from "./useLoadWithToken";

/** The registered emotion-model versions (the shipped one among them) and activating one. */
export function useModelVersions(onActivated?: () => void) {
  const [models, setModels] = useState<ModelList | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [activating, setActivating] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      setModels(await api.models());
      setError(null);
    } catch (exc) {
      setError((exc as Error).message);
    }
  }, []);

  useLoadWithToken(load);

  const activate = useCallback(async (version: string) => {
    setActivating(version);
    try {
      await api.activate(version);
      await load();
      onActivated?.();
    } catch (exc) {
      setError((exc as Error).message);
    } finally {
      setActivating(null);
    }
  }, [load, onActivated]);

  return { models, error, activating, load, activate };
}
