import { useCallback, useEffect, useState } from "react";
import { LiveStatsBook, type LiveStats } from "../lib/liveStats";

/** The session's statistics book, and a snapshot of it refreshed on demand and twice a second while live. */
export function useLiveStats(live: boolean) {
  const [book] = useState(() => new LiveStatsBook());
  const [stats, setStats] = useState<LiveStats | null>(null);
  const refresh = useCallback(() => setStats(book.snapshot(Date.now())), [book]);

  // Rates fall to zero when nothing arrives, so refresh them even without events.
  useEffect(() => {
    if (!live) return;
    const timer = window.setInterval(refresh, 500);
    return () => window.clearInterval(timer);
  }, [live, refresh]);

  return { book, stats, refresh };
}
