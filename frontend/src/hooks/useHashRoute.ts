import { useCallback, useEffect, useState } from "react";
import { hashOf, parseHash, type Place } from "../lib/route";

/**
 * The page's place from the URL's hash (lib/route.ts), kept when the hash names none of them (the
 * skip link's #main); the privacy text opens over the place shown before and closes back to it.
 */
export function useHashRoute() {
  const [state, setState] = useState(() => read(window.location.hash, { tab: "live", session: null }));

  useEffect(() => {
    const onHash = () => setState((s) => read(window.location.hash, s.place));
    window.addEventListener("hashchange", onHash);
    return () => window.removeEventListener("hashchange", onHash);
  }, []);

  const go = useCallback((place: Place) => {
    const hash = hashOf(place);
    if (window.location.hash !== hash) window.location.hash = hash;
    else setState({ place, privacy: false });
  }, []);

  const closePrivacy = useCallback(() => go(state.place), [go, state.place]);

  return { place: state.place, privacy: state.privacy, go, closePrivacy };
}

function read(hash: string, shown: Place): { place: Place; privacy: boolean } {
  const route = parseHash(hash);
  if (route.kind === "place") return { place: route.place, privacy: false };
  return { place: shown, privacy: route.kind === "privacy" };
}
