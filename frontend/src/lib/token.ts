// The gateway's shared secret (SENTIVIS_AUTH_TOKEN), when it asks for one. Kept in this browser's
// localStorage so a reload does not ask again; never baked into the build.
const KEY = "sentivis.token";

export function getToken(): string {
  try {
    return localStorage.getItem(KEY) ?? "";
  } catch {
    return ""; // storage blocked (private mode, sandboxed frame): no token
  }
}

export function setToken(token: string): void {
  try {
    if (token) localStorage.setItem(KEY, token);
    else localStorage.removeItem(KEY);
  } catch {
    // storage blocked: the token lasts for this page only, via the events below
  }
  memory = token;
  window.dispatchEvent(new Event(TOKEN_CHANGED));
}

let memory = "";
export function currentToken(): string {
  return getToken() || memory;
}

/** Fired when the token changes (the page reconnects) and when the gateway refuses one (it asks). */
export const TOKEN_CHANGED = "sentivis:token-changed";
export const UNAUTHORIZED = "sentivis:unauthorized";

export function reportUnauthorized(): void {
  window.dispatchEvent(new Event(UNAUTHORIZED));
}

export function authHeaders(): Record<string, string> {
  const token = currentToken();
  return token ? { Authorization: `Bearer ${token}` } : {};
}
