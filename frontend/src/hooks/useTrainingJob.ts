import { useCallback, useEffect, useState } from "react";
import { api, type TrainingJob, type TrainingRequest } from "../lib/api";

const JOB_KEY = "sentivis.trainingJob";
export const TERMINAL = new Set(["succeeded", "failed"]);

/**
 * The training job this browser started (remembered across visits), polled every second until it
 * finishes; `onFinished` runs once it has.
 */
export function useTrainingJob(onFinished: () => void) {
  const [jobId, setJobId] = useState<string | null>(() => localStorage.getItem(JOB_KEY));
  const [job, setJob] = useState<TrainingJob | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [submitting, setSubmitting] = useState(false);

  useEffect(() => {
    if (!jobId) return;
    let cancelled = false;
    let timer = 0;
    const poll = async () => {
      try {
        const j = await api.trainingJob(jobId);
        if (cancelled) return;
        setJob(j);
        setError(null);
        if (TERMINAL.has(j.state)) {
          onFinished();
          return;
        }
      } catch (exc) {
        if (cancelled) return;
        setError((exc as Error).message);
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
  }, [jobId, onFinished]);

  const start = useCallback(async (request: TrainingRequest) => {
    setSubmitting(true);
    setError(null);
    try {
      const created = await api.startTraining(request);
      localStorage.setItem(JOB_KEY, created.id);
      setJob(created);
      setJobId(created.id);
    } catch (exc) {
      setError((exc as Error).message);
    } finally {
      setSubmitting(false);
    }
  }, []);

  const running = job !== null && !TERMINAL.has(job.state);
  return { job, error, setError, submitting, running, start };
}
