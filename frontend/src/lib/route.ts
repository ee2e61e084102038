// Where the page is, in its URL's hash, so that a tab or a recorded session can be linked to,
// reloaded and opened in another browser: #live, #sessions, #sessions/<id>, #analyze, #training;
// #privacy opens the privacy text over the place shown before.

export const TAB_IDS = ["live", "sessions", "analyze", "training"] as const;
export type Tab = (typeof TAB_IDS)[number];

export interface Place {
  tab: Tab;
  /** The session open in the Sessions tab, if any. */
  session: string | null;
}

export type Route = { kind: "place"; place: Place } | { kind: "privacy" } | { kind: "unknown" };

export function parseHash(hash: string): Route {
  const path = hash.replace(/^#\/?/, "");
  if (path === "") return { kind: "place", place: { tab: "live", session: null } };
  if (path === "privacy") return { kind: "privacy" };
  const [head, ...rest] = path.split("/");
  if (head === "sessions" && rest.length) {
    const id = decode(rest.join("/"));
    return { kind: "place", place: { tab: "sessions", session: id || null } };
  }
  if ((TAB_IDS as readonly string[]).includes(head) && !rest.length)
    return { kind: "place", place: { tab: head as Tab, session: null } };
  return { kind: "unknown" };
}

export function hashOf(place: Place): string {
  return place.tab === "sessions" && place.session ? `#sessions/${encodeURIComponent(place.session)}` : `#${place.tab}`;
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text; // a stray "%": the id as written (the API answers 404 for it)
  }
}
