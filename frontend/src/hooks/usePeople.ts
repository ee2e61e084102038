import { useCallback, useEffect, useState } from "react";
import type { Socket } from "socket.io-client";
import { sessionFileName, downloadText } from "../lib/download";
import { People, SessionIds } from "../lib/people";
import { SessionLog } from "../lib/sessionLog";
import { Timeline } from "../lib/timeline";
import type { Inference } from "../lib/types";

export type DownloadKind = "csv" | "json";

/**
 * The people of the live session: ids unique for the page's session (the gateway's, shifted after
 * a reconnect), who is in view and who was recently, each one's summary and 60 s chart, and the
 * whole session's timeline for download. Refreshes itself every second while anyone is listed, so
 * people move to "recently seen" and drop off even when no answer comes.
 */
export function usePeople(socket: Socket | null) {
  const [state] = useState(() => ({ people: new People(), log: new SessionLog(), timeline: new Timeline(60_000),
                                    ids: new SessionIds() }));
  const [, setTick] = useState(0);
  const { people, log, timeline, ids } = state;

  // "limits" opens every connection: from then on the gateway numbers people from 1 again.
  useEffect(() => {
    if (!socket) return;
    const onLimits = () => ids.newConnection();
    socket.on("limits", onLimits);
    return () => {
      socket.off("limits", onLimits);
    };
  }, [socket, ids]);

  /** One answer, arrived at `now`: the same answer with the session's person ids. */
  const record = useCallback((inference: Inference, now: number): Inference => {
    const faces = ids.map(inference.faces ?? []);
    people.add(faces, now);
    log.add(inference.frame_id, faces, now);
    timeline.add(faces, now);
    return { ...inference, faces };
  }, [ids, people, log, timeline]);

  const listed = people.size > 0;
  useEffect(() => {
    if (!listed) return;
    const timer = window.setInterval(() => {
      people.prune(Date.now());
      setTick((n) => n + 1);
    }, 1_000);
    return () => window.clearInterval(timer);
  }, [listed, people]);

  const download = useCallback((kind: DownloadKind) => {
    const now = Date.now();
    if (kind === "csv") downloadText(sessionFileName(now, "csv"), log.toCsv(), "text/csv");
    else downloadText(sessionFileName(now, "json"), log.toJson(now), "application/json");
  }, [log]);

  const now = Date.now();
  return { record, inView: people.inView(now), recent: people.recentlySeen(now), timeline, rows: log.size,
           download, now };
}
