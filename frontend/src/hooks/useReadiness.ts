import { useEffect, useState } from "react";
import { api, type Readiness } from "../lib/api";
import { TOKEN_CHANGED, UNAUTHORIZED } from "../lib/token";

/**
 * The gateway's readiness probe every 5 s (model health before and between live answers), and
 * whether a REST call was refused for want of the access token.
 */
export function useReadiness() {
  const [readiness, setReadiness] = useState<Readiness | null>(null);
  const [needsToken, setNeedsToken] = useState(false);

  useEffect(() => {
    let cancelled = false;
    const poll = () => api.readiness().then((r) => !cancelled && setReadiness(r)).catch((exc) => {
      if ((exc as { status?: number }).status === 401 && !cancelled) setNeedsToken(true);
    });
    void poll();
    const timer = window.setInterval(poll, 5_000);
    // A REST call answered 401: ask for the token; a new token: try again at once.
    const onUnauthorized = () => setNeedsToken(true);
    const onToken = () => { setNeedsToken(false); void poll(); };
    window.addEventListener(UNAUTHORIZED, onUnauthorized);
    window.addEventListener(TOKEN_CHANGED, onToken);
    return () => {
      cancelled = true;
      window.clearInterval(timer);
      window.removeEventListener(UNAUTHORIZED, onUnauthorized);
      window.removeEventListener(TOKEN_CHANGED, onToken);
    };
  }, []);

  return { readiness, needsToken };
}
