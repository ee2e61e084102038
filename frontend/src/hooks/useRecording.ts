import { useCallback, useEffect, useReducer, useState } from "react";
import type { Socket } from "socket.io-client";
import { RECORDING_OFF, checkSessionName, recordingReducer } from "../lib/recording";
import type { SessionErrorEvent, SessionEvent } from "../lib/sessionTypes";
import type { Inference } from "../lib/types";

/**
 * The Record switch (docs/PROTOCOL.md, "Recorded sessions"): asks the gateway to record this
 * connection's answers as a named session and to stop, and follows what the gateway says
 * (lib/recording.ts). A start is only sent while connected: socket.io would otherwise buffer it and
 * send it after a reconnect, recording without a fresh request. Ticks every second while on, for
 * the elapsed time and to give up an unanswered start.
 */
export function useRecording(socket: Socket | null) {
  const [state, dispatch] = useReducer(recordingReducer, RECORDING_OFF);
  const [now, setNow] = useState(() => Date.now());

  useEffect(() => {
    if (!socket) return;
    const onSession = (event: SessionEvent) => dispatch({ type: "session", event, now: Date.now() });
    const onError = (event: SessionErrorEvent) => dispatch({ type: "session_error", event, now: Date.now() });
    const onInference = (answer: Inference) => dispatch({ type: "inference", faces: answer.faces?.length ?? 0 });
    const onDisconnect = () => dispatch({ type: "disconnected", now: Date.now() });
    socket.on("session", onSession);
    socket.on("session_error", onError);
    socket.on("inference", onInference);
    socket.on("disconnect", onDisconnect);
    return () => {
      socket.off("session", onSession);
      socket.off("session_error", onError);
      socket.off("inference", onInference);
      socket.off("disconnect", onDisconnect);
    };
  }, [socket]);

  const on = state.phase !== "off";
  useEffect(() => {
    if (!on) return;
    const timer = window.setInterval(() => {
      const t = Date.now();
      setNow(t);
      dispatch({ type: "tick", now: t });
    }, 1_000);
    return () => window.clearInterval(timer);
  }, [on]);

  const start = useCallback((rawName: string) => {
    const checked = checkSessionName(rawName);
    if (!checked.ok) return dispatch({ type: "refuse", error: checked.error });
    if (!socket?.connected)
      return dispatch({ type: "refuse",
                        error: "The page is not connected to the gateway; recording can start once it is." });
    const t = Date.now();
    setNow(t);
    dispatch({ type: "start", name: checked.name, now: t });
    socket.emit("session_start", { name: checked.name });
  }, [socket]);

  const recordingId = state.phase === "recording" ? state.session.id : null;
  const stop = useCallback(() => {
    if (!recordingId || !socket?.connected) return; // disconnected: the gateway has ended it already
    dispatch({ type: "stop" });
    socket.emit("session_stop", { id: recordingId });
  }, [socket, recordingId]);

  return { state, now, start, stop };
}

export type Recording = ReturnType<typeof useRecording>;
