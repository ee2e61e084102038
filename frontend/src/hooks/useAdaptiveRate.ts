import { useCallback, useEffect, useState } from "react";
import { AdaptiveRate, type RateState } from "../lib/adaptiveRate";

/**
 * The frame rate to send at, lowered when the gateway answers `overloaded` or round trips grow,
 * raised again when it recovers (lib/adaptiveRate.ts); `ceiling` is the rate the user chose.
 * `overloaded()` and `answered(rttMs)` feed it the gateway's answers.
 */
export function useAdaptiveRate(ceiling: number, live: boolean) {
  const [rate] = useState(() => new AdaptiveRate(ceiling));
  const [state, setState] = useState<RateState>(() => rate.state);
  const publish = useCallback(() => setState((old) => {
    const now = rate.state;
    return old.fps === now.fps && old.ceiling === now.ceiling && old.reason === now.reason ? old : now;
  }), [rate]);

  useEffect(() => {
    rate.setCeiling(ceiling);
    publish();
  }, [rate, ceiling, publish]);

  // Recovery happens with time, not only with events: step up while live.
  useEffect(() => {
    if (!live) return;
    const timer = window.setInterval(() => {
      rate.tick(Date.now());
      publish();
    }, 500);
    return () => window.clearInterval(timer);
  }, [live, rate, publish]);

  const overloaded = useCallback(() => {
    rate.overloaded(Date.now());
    publish();
  }, [rate, publish]);
  const answered = useCallback((rttMs: number) => {
    rate.answered(rttMs, Date.now());
    publish();
  }, [rate, publish]);

  return { ...state, overloaded, answered };
}
