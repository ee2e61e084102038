import { useEffect } from "react";
import { TOKEN_CHANGED } from "../lib/token";

/** Runs `load` now, and again whenever the access token changes (a refused call may then succeed). */
export function useLoadWithToken(load: () => Promise<void>) {
  useEffect(() => {
    void load();
    const onToken = () => void load();
    window.addEventListener(TOKEN_CHANGED, onToken);
    return () => window.removeEventListener(TOKEN_CHANGED, onToken);
  }, [load]);
}
