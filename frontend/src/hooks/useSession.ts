import { useCallback, useEffect, useRef, useState } from "react";
import { api } from "../lib/api";
import { downloadBlob } from "../lib/download";
import { exportFileName, sessionApiWords, sessionFlags } from "../lib/sessionList";
import { LineSplitter, SeriesBuilder, parseRow, sliceSeconds, type PersonSeries } from "../lib/sessionSeries";
import type { SessionDetail, SessionFileFormat } from "../lib/sessionTypes";
import { TOKEN_CHANGED } from "../lib/token";

/** Reads the session's JSONL rows as they stream in, into each person's series; never holds the rows. */
async function readSeries(detail: SessionDetail, signal: AbortSignal): Promise<PersonSeries[]> {
  const response = await api.sessionRows(detail.id, "jsonl", signal);
  const builder = new SeriesBuilder(sliceSeconds(detail.duration_s, detail.frames));
  const split = new LineSplitter();
  let lineNumber = 0;
  const take = (lines: string[]) => lines.forEach((line) => builder.add(parseRow(line, ++lineNumber)));
  if (!response.body) {
    take(split.push(await response.text()));
  } else {
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) take(split.push(chunk.value));
  }
  take(split.end());
  return builder.build();
}

/** Frames still on their way to the database (just stopped): the view reloads this often, this many times. */
const WRITING_RELOAD_MS = 1_000;
const WRITING_RELOADS = 10;

export type SessionAction = { kind: "download"; format: SessionFileFormat } | { kind: "delete" };

/**
 * One recorded session (the component using it is keyed by `id`): its metadata and people
 * (GET /api/v1/sessions/<id>), each person's series from its rows (looked at again while the last
 * frames are still being written), the CSV and JSONL downloads (fetched with the token, then saved: a plain link
 * cannot send the Authorization header) and deleting it.
 */
export function useSession(id: string, onDeleted: (detail: SessionDetail) => void) {
  const [detail, setDetail] = useState<SessionDetail | null>(null);
  const [series, setSeries] = useState<PersonSeries[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [seriesError, setSeriesError] = useState<string | null>(null);
  const [busy, setBusy] = useState<SessionAction | null>(null);
  const [actionError, setActionError] = useState<string | null>(null);
  const [reloads, setReloads] = useState(0);
  const writingReloads = useRef(0);
  const reload = useCallback(() => setReloads((n) => n + 1), []);

  useEffect(() => {
    const abort = new AbortController();
    let timer: number | undefined;
    setSeriesError(null);
    api.session(id).then(async (loaded) => {
      if (abort.signal.aborted) return;
      setDetail(loaded);
      setError(null);
      try {
        const built = await readSeries(loaded, abort.signal);
        if (!abort.signal.aborted) setSeries(built);
      } catch (exc) {
        if (!abort.signal.aborted) setSeriesError(sessionApiWords(exc));
      }
      // Just stopped: the last frames are still on their way to the database; look again shortly.
      if (!abort.signal.aborted && sessionFlags(loaded).some((f) => f.kind === "writing")
          && writingReloads.current++ < WRITING_RELOADS)
        timer = window.setTimeout(reload, WRITING_RELOAD_MS);
    }, (exc: unknown) => {
      if (abort.signal.aborted) return;
      setDetail(null);
      setSeries(null);
      setError(sessionApiWords(exc));
    });
    return () => {
      abort.abort();
      window.clearTimeout(timer);
    };
  }, [id, reloads, reload]);

  useEffect(() => {
    window.addEventListener(TOKEN_CHANGED, reload);
    return () => window.removeEventListener(TOKEN_CHANGED, reload);
  }, [reload]);

  const download = useCallback(async (format: SessionFileFormat) => {
    if (!detail) return;
    setBusy({ kind: "download", format });
    setActionError(null);
    try {
      const response = await api.sessionRows(detail.id, format);
      downloadBlob(exportFileName(detail, format), await response.blob());
    } catch (exc) {
      setActionError(sessionApiWords(exc));
    } finally {
      setBusy(null);
    }
  }, [detail]);

  const remove = useCallback(async () => {
    if (!detail) return;
    setBusy({ kind: "delete" });
    setActionError(null);
    try {
      await api.deleteSession(detail.id);
      onDeleted(detail);
    } catch (exc) {
      setActionError(sessionApiWords(exc));
    } finally {
      setBusy(null);
    }
  }, [detail, onDeleted]);

  return { detail, series, error, seriesError, busy, actionError, download, remove, reload };
}
