import type { ConnectionState } from "../hooks/useGatewaySocket";

/** The connection state in words, for the header pill and the status card. */
export const CONNECTION_WORDS: Record<ConnectionState, string> = {
  connected: "Connected",
  connecting: "Connecting…",
  reconnecting: "Reconnecting…",
  disconnected: "Disconnected",
  unauthorized: "Access token needed",
  refused: "Connection refused",
};
