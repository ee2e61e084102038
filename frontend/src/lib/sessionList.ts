import { ApiError } from "./api";
import { dateTime, duration } from "./format";
import type { SessionFileFormat, SessionListItem } from "./sessionTypes";

/** Sessions per page of the list. */
export const SESSIONS_PER_PAGE = 20;

/**
 * Where the session list is: the `before` cursor of every page visited from the newest (null), so
 * that "Newer" goes back the way "Older" came. Immutable, for React state.
 */
export class Pager {
  constructor(private readonly cursors: readonly (string | null)[] = [null]) {}

  /** The `before` of the page shown (null: the newest sessions). */
  get before(): string | null {
    return this.cursors[this.cursors.length - 1];
  }

  /** 1 for the newest page. */
  get page(): number {
    return this.cursors.length;
  }

  get hasNewer(): boolean {
    return this.cursors.length > 1;
  }

  /** The next page of older sessions, from the shown page's `next`. */
  older(next: string): Pager {
    return new Pager([...this.cursors, next]);
  }

  newer(): Pager {
    return this.hasNewer ? new Pager(this.cursors.slice(0, -1)) : this;
  }

  /** A page that came back empty (its sessions were deleted) is left for the one before it. */
  settle(shown: number): Pager {
    return shown === 0 ? this.newer() : this;
  }
}

export type SessionFlagKind = "gap" | "open" | "writing";

export interface SessionFlag {
  kind: SessionFlagKind;
  text: string;
}

/** What a reader of the list must know about a session beyond its numbers. */
export function sessionFlags(s: SessionListItem): SessionFlag[] {
  const flags: SessionFlag[] = [];
  if (s.gap_frames > 0)
    flags.push({ kind: "gap", text: `${s.gap_frames} ${s.gap_frames === 1 ? "frame" : "frames"} not recorded` });
  if (s.ended_at === null)
    flags.push({ kind: "open", text: "no end recorded: still recording, or its gateway stopped" });
  else if (s.reported_frames !== null && s.frames + s.gap_frames < s.reported_frames) {
    const waiting = s.reported_frames - s.frames - s.gap_frames;
    flags.push({ kind: "writing", text: `${waiting} ${waiting === 1 ? "frame" : "frames"} still being written` });
  }
  return flags;
}

const END_REASONS: Record<string, string> = {
  stopped: "stopped from the page",
  disconnected: "ended by a disconnect",
  shutdown: "ended when the gateway stopped",
  error: "ended by an error",
};

/** How a session ended, in words. */
export function endWords(s: SessionListItem): string {
  if (s.ended_at === null) return "no end recorded";
  return END_REASONS[s.end_reason ?? ""] ?? (s.end_reason ? `ended (${s.end_reason})` : "ended");
}

/** "2:05" for a session's duration. */
export function sessionDuration(s: SessionListItem): string {
  return duration(s.duration_s * 1000);
}

/** A failed sessions API call in words: what happened and what to do. */
export function sessionApiWords(error: unknown): string {
  if (!(error instanceof ApiError)) return error instanceof Error ? error.message : String(error);
  switch (error.status) {
    case 404:
      return "This session does not exist (any more): it was deleted, or the link is wrong.";
    case 503:
      return "The sessions database is unavailable right now; the live camera is not affected. Try again in a moment.";
    default:
      // 401 asks for the token; 0 says the gateway cannot be reached; 400 is the gateway's own words.
      return error.message;
  }
}

/** A download's file name: the session's name made safe for a file, its start, the format. */
export function exportFileName(s: SessionListItem, format: SessionFileFormat, timeZone?: string): string {
  const slug = s.name.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
    .replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 60).replace(/-+$/, "");
  const when = dateTime(s.started_at, timeZone).replace(" ", "T").replace(":", "");
  return `sentivis-${slug || s.id.slice(0, 8)}-${when}.${format}`;
}
