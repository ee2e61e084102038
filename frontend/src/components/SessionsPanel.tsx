import { useCallback, useState } from "react";
import type { SessionDetail } from "../lib/sessionTypes";
import { SessionList } from "./SessionList";
import { SessionView } from "./SessionView";

interface Props {
  /** The session open (from the URL), else the list. */
  sessionId: string | null;
  /** The session this page records now, if any. */
  recordingId: string | null;
  onOpen: (id: string | null) => void;
}

/** The Sessions tab: the recorded sessions, newest first, and one session's people, charts, downloads and delete. */
export function SessionsPanel({ sessionId, recordingId, onOpen }: Props) {
  const [notice, setNotice] = useState<string | null>(null);
  const deleted = useCallback((detail: SessionDetail) => {
    setNotice(`Deleted “${detail.name}” and all its rows.`);
    onOpen(null);
  }, [onOpen]);
  if (sessionId)
    return (
      <SessionView key={sessionId} id={sessionId} recordingId={recordingId} onBack={() => onOpen(null)}
                   onDeleted={deleted} />
    );
  return <SessionList recordingId={recordingId} notice={notice} onDismissNotice={() => setNotice(null)} />;
}
