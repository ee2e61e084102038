import { useCallback, useEffect, useState } from "react";
import { io, type Socket } from "socket.io-client";
import msgpackParser from "socket.io-msgpack-parser";
import { SOCKET_PATH, gatewayUrl } from "../lib/config";
import type { GatewayLimits } from "../lib/limits";
import { TOKEN_CHANGED, currentToken } from "../lib/token";

export type ConnectionState = "connecting" | "connected" | "reconnecting" | "disconnected" | "unauthorized" | "refused";

export interface Connection {
  state: ConnectionState;
  attempt: number;
  error: string | null;
}

/**
 * The page's one Socket.IO connection to the gateway: its state in words the page can show, and
 * the limits the gateway announces on every (re)connect. socket.io-client reconnects on its own;
 * a new access token reconnects at once. WebSocket only (no long-polling: a deployment with
 * several gateways routes only WebSockets), and packets in MessagePack, as the gateway speaks:
 * a frame is one binary message, not a JSON header and an attachment.
 */
export function useGatewaySocket() {
  const [socket, setSocket] = useState<Socket | null>(null);
  const [connection, setConnection] = useState<Connection>({ state: "connecting", attempt: 0, error: null });
  const [limits, setLimits] = useState<GatewayLimits | null>(null);

  useEffect(() => {
    // auth as a function: every (re)connect sends the token as it is now.
    const s = io(gatewayUrl(), {
      path: SOCKET_PATH, transports: ["websocket"], parser: msgpackParser, reconnectionDelayMax: 5_000,
      auth: (cb) => cb(currentToken() ? { token: currentToken() } : {}),
    });
    s.on("limits", (announced: GatewayLimits) => setLimits(announced));
    s.on("connect", () => setConnection({ state: "connected", attempt: 0, error: null }));
    s.on("disconnect", (reason) => {
      // Socket.IO retries on its own except after an explicit disconnect by either side.
      const final = reason === "io client disconnect" || reason === "io server disconnect";
      setConnection({ state: final ? "disconnected" : "reconnecting", attempt: 0, error: `Connection lost (${reason}).` });
    });
    s.on("connect_error", (err) => {
      // The server refused us (it does not retry on its own) or it cannot be reached (it retries).
      if (!s.active) {
        const unauthorized = /unauthori[sz]ed/i.test(err.message);
        setConnection({ state: unauthorized ? "unauthorized" : "refused", attempt: 0,
                        error: unauthorized ? "The gateway needs an access token." : `The gateway refused the connection: ${err.message}` });
        return;
      }
      setConnection((c) => ({ ...c, state: c.state === "connecting" ? "connecting" : "reconnecting",
                               error: `Cannot reach the gateway at ${gatewayUrl()} (${err.message}).` }));
    });
    s.io.on("reconnect_attempt", (attempt) => setConnection((c) => ({ ...c, state: "reconnecting", attempt })));
    s.io.on("reconnect_failed", () => setConnection((c) => ({ ...c, state: "disconnected" })));
    const onToken = () => {
      if (!s.connected) {
        setConnection({ state: "connecting", attempt: 0, error: null });
        s.connect();
      }
    };
    window.addEventListener(TOKEN_CHANGED, onToken);
    setSocket(s);
    return () => {
      window.removeEventListener(TOKEN_CHANGED, onToken);
      s.removeAllListeners();
      s.io.removeAllListeners();
      s.disconnect();
      setSocket(null);
    };
  }, []);

  const reconnect = useCallback(() => {
    if (socket && !socket.connected) {
      setConnection({ state: "connecting", attempt: 0, error: null });
      socket.connect();
    }
  }, [socket]);

  return { socket, connection, limits, reconnect };
}
