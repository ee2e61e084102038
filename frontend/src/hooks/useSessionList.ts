import { useCallback, useEffect, useState } from "react";
import { api } from "../lib/api";
import { Pager, SESSIONS_PER_PAGE, sessionApiWords } from "../lib/sessionList";
import type { SessionPage } from "../lib/sessionTypes";
import { TOKEN_CHANGED } from "../lib/token";

/** A page of recorded sessions, newest first, and the way to older and newer pages (lib/sessionList.ts Pager). */
export function useSessionList() {
  const [pager, setPager] = useState(() => new Pager());
  const [page, setPage] = useState<SessionPage | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true); // from the first render: it loads at once
  const [reloads, setReloads] = useState(0);

  useEffect(() => {
    let current = true;
    setLoading(true);
    api.sessions(pager.before, SESSIONS_PER_PAGE).then((loaded) => {
      if (!current) return;
      const settled = pager.settle(loaded.sessions.length);
      if (settled !== pager) return setPager(settled); // emptied by deletes: the page before it
      setPage(loaded);
      setError(null);
    }, (exc: unknown) => {
      if (current) setError(sessionApiWords(exc));
    }).finally(() => {
      if (current) setLoading(false);
    });
    return () => { current = false; };
  }, [pager, reloads]);

  const reload = useCallback(() => setReloads((n) => n + 1), []);
  useEffect(() => {
    window.addEventListener(TOKEN_CHANGED, reload);
    return () => window.removeEventListener(TOKEN_CHANGED, reload);
  }, [reload]);

  const older = useCallback(() => {
    if (page?.next) setPager((p) => p.older(page.next!));
  }, [page]);
  const newer = useCallback(() => setPager((p) => p.newer()), []);

  return { page, pageNumber: pager.page, hasNewer: pager.hasNewer, hasOlder: Boolean(page?.next), error, loading,
           older, newer, reload };
}
