"""Recorded sessions, the gateway's side: consent, then what each answered frame was, onto the records stream.

Nothing is recorded unless a client asks. `Recording` is self-contained; the Socket.IO handlers
call it (docs/PROTOCOL.md, "Recorded sessions"):

    recording = Recording(settings, redis_client, gateway_id=gateway_id)
    session_start  -> emit("session", recording.start(sid, payload))
    session_stop   -> emit("session", recording.stop(sid, payload))
    each inference -> recording.record(sid, event)   (after it is emitted; a no-op unless recording)
    disconnect     -> recording.disconnected(sid)
    shutdown       -> recording.close()
    a refusal      -> SessionRefused: emit("session_error", exc.event())

POST /api/v1/analyze?session=NAME stores one image's answer with `record_once(name, event)`.

The live path never waits on Redis or the database here: `record` queues the event (a dict lookup
and an append); a flusher thread turns the queue into records (sentivis.records) and appends them
with one MULTI/EXEC every FLUSH_INTERVAL_S. The recorder writes them to the database and deletes
them (recorder/). So that the stream cannot grow without bound while the database is down, the
flusher samples its length (XLEN, in the same round trip, at most every SAMPLE_INTERVAL_S while a
session records); past SENTIVIS_RECORDS_MAX_BACKLOG the gateway stops appending frames and counts
them per session, until the backlog is back under RESUME_FRACTION of it; the frames it did not
append become a `Gap` record (at the next frame appended, or at the end), so a session is marked
with its gaps rather than losing rows silently. The same goes for frames that find the flusher's
own queue full (Redis unreachable). Starts, gaps and ends are always queued.

The gateway runs this under gevent's monkey-patching: the plain threading primitives used here
become greenlets there.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable

import redis

from sentivis import redis_io, streams
from sentivis.protocol import Inference
from sentivis.records import (
    FrameRecord,
    Gap,
    Models,
    SessionRefused,
    SessionStarted,
    SessionStopped,
    check_session_name,
    encode,
    is_session_id,
    models_of,
    new_session_id,
    person_rows,
    session_settings,
)
from sentivis.settings import Settings

__all__ = ["Recording", "SessionRefused"]

log = logging.getLogger(__name__)

FLUSH_INTERVAL_S = 0.05
SAMPLE_INTERVAL_S = 0.1
RESUME_FRACTION = 0.9  # appending resumes when the backlog is back under this share of the bound
MAX_QUEUED = 5000  # frames waiting in this gateway for the flusher (Redis unreachable): more become gaps
FLUSH_MAX = 1000  # records per MULTI/EXEC


@dataclass
class _Session:
    """A connection's session, as the handlers see it (changed under Recording._lock)."""

    id: str
    name: str
    started_at: float
    seq: int = 0  # answered frames so far: the next frame's number
    gap_frames: int = 0  # frames not appended, in all
    gap_first: int | None = None  # the open gap: its first frame, start and length
    gap_started_at: float = 0.0
    gap_open: int = 0
    gap_last_at: float = 0.0


class Recording:
    """settings: the backlog bound and the settings recorded with each session; redis_client: where
    records go; clock: epoch seconds (stamps); monotonic: intervals; gateway_id: recorded with each
    session; flusher: False leaves the appending to the caller's flush() (tests)."""

    def __init__(self, settings: Settings, redis_client: redis.Redis, clock: Callable[[], float] = time.time,
                 gateway_id: str = "", monotonic: Callable[[], float] = time.monotonic, flusher: bool = True):
        self.settings = settings
        self.redis = redis_client
        self.clock = clock
        self.monotonic = monotonic
        self.gateway_id = gateway_id
        self.max_backlog = settings.records_max_backlog
        self._sessions: dict[str, _Session] = {}  # sid -> its session; read without the lock (one dict get)
        self._lock = threading.Lock()
        self._queue: deque[tuple] = deque()  # what the flusher turns into records, in order
        self._unsent: list[dict[str, bytes]] = []  # encoded records a failed flush keeps, first next time
        self._last_models: dict[str, Models] = {}  # session id -> the models of its last frame (flusher's)
        self._backlog_full = False
        self._next_sample = 0.0
        self._failures = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._flusher = flusher

    # -- the handlers' calls -----------------------------------------------------------------
    def start(self, sid: str, payload: Any) -> dict[str, Any]:
        """`session_start`: a new session for this connection -> the `session` event payload."""
        name = check_session_name(payload)
        current = self._sessions.get(sid)
        if current is not None:
            raise SessionRefused("already_recording", session_id=current.id)
        self.check_available()
        now = self.clock()
        session = _Session(new_session_id(now), name, now)
        with self._lock:
            current = self._sessions.get(sid)
            if current is not None:  # a second start raced with this one
                raise SessionRefused("already_recording", session_id=current.id)
            self._queue.append(("record", SessionStarted(session.id, name, now, self.gateway_id, "live",
                                                         session_settings(self.settings))))
            self._sessions[sid] = session
        self._ensure_flusher()
        log.info("session %s started on connection %s", session.id, sid)
        return {"id": session.id, "name": name, "recording": True}

    def stop(self, sid: str, payload: Any = None) -> dict[str, Any]:
        """`session_stop` ({"id"} optional): end this connection's session -> the `session` payload."""
        if payload is not None and not isinstance(payload, dict):
            raise SessionRefused("unknown_session", "session_stop takes nothing or an object {\"id\": \"...\"}")
        given = payload.get("id") if payload else None
        session = self._sessions.get(sid)
        if given is not None and (session is None or given != session.id):
            raise SessionRefused("unknown_session", session_id=given if is_session_id(given) else None)
        if session is None:
            raise SessionRefused("not_recording")
        self._end(sid, "stopped")
        return {"id": session.id, "recording": False}

    def record(self, sid: str, event: Inference) -> None:
        """One `inference` event of connection `sid`: queued if it records, else nothing."""
        session = self._sessions.get(sid)
        if session is None:
            return
        now = self.clock()
        with self._lock:
            if self._sessions.get(sid) is not session:
                return  # stopped meanwhile
            seq = session.seq
            session.seq += 1
            if self._backlog_full or len(self._queue) + len(self._unsent) >= MAX_QUEUED:
                if session.gap_first is None:
                    session.gap_first, session.gap_started_at, session.gap_open = seq, now, 0
                session.gap_open += 1
                session.gap_frames += 1
                session.gap_last_at = now
                return
            self._close_gap(session)
            self._queue.append(("frame", session.id, seq, now, event))

    def disconnected(self, sid: str) -> dict[str, Any] | None:
        """The connection is gone: its session ends (-> what `session` would say, or None)."""
        session = self._end(sid, "disconnected")
        return None if session is None else {"id": session.id, "recording": False}

    def active(self, sid: str) -> str | None:
        """The id of the session connection `sid` records, or None."""
        session = self._sessions.get(sid)
        return None if session is None else session.id

    def record_once(self, name: Any, event: Inference, source: str = "image") -> dict[str, Any]:
        """A session of one answered image (POST /api/v1/analyze?session=NAME): its start, frame and
        end appended now, in one MULTI/EXEC -> {"id", "name"}. SessionRefused when the name is bad or
        records cannot be taken."""
        name = check_session_name({"name": name})
        self.check_available()
        now = self.clock()
        session_id = new_session_id(now)
        frame = FrameRecord(session_id, 0, self._received_at(now, event), event.frame_id, event.width, event.height,
                            person_rows(event.faces), models_of(event.models))
        pipe = self.redis.pipeline(transaction=True)
        for record in (SessionStarted(session_id, name, now, self.gateway_id, source, session_settings(self.settings)),
                       frame, SessionStopped(session_id, now, 1, 0)):
            pipe.xadd(streams.RECORDS, encode(record))
        try:
            pipe.execute()
        except redis.RedisError as exc:
            raise SessionRefused("recording_unavailable", f"the session cannot be recorded: Redis: {exc}") from exc
        return {"id": session_id, "name": name}

    def close(self, timeout: float = 5.0) -> None:
        """End every session (reason "shutdown") and append what is queued, within `timeout`."""
        for sid in list(self._sessions):
            self._end(sid, "shutdown")
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        deadline = self.monotonic() + timeout
        while (self._queue or self._unsent) and self.monotonic() < deadline:
            try:
                self.flush()
            except redis.RedisError as exc:
                log.warning("records: Redis: %s; %d records not appended at shutdown", exc,
                            len(self._queue) + len(self._unsent))
                time.sleep(0.2)

    # -- inside ----------------------------------------------------------------------------------
    def check_available(self) -> None:
        """Refuse a new session when records could not be taken now: Redis unreachable, the backlog
        past its bound, or no recorder alive (its heartbeat)."""
        try:
            backlog = self.redis.xlen(streams.RECORDS)
            recorders = redis_io.live_services(self.redis, "recorder")
        except redis.RedisError as exc:
            raise SessionRefused("recording_unavailable", f"sessions cannot be recorded now: Redis: {exc}") from exc
        if backlog >= self.max_backlog:
            self._backlog_full = True
            raise SessionRefused("recording_unavailable", f"sessions cannot be recorded now: {backlog} records wait "
                                 f"for the database (the limit is {self.max_backlog})")
        if not recorders:
            raise SessionRefused("recording_unavailable", "sessions cannot be recorded now: no recorder is running")

    def _close_gap(self, session: _Session) -> None:
        """Queue the session's open gap, if any (under the lock)."""
        if session.gap_first is not None:
            self._queue.append(("record", Gap(session.id, session.gap_first, session.gap_open,
                                              session.gap_started_at, session.gap_last_at)))
            session.gap_first = None

    def _end(self, sid: str, reason: str) -> _Session | None:
        now = self.clock()
        with self._lock:
            session = self._sessions.pop(sid, None)
            if session is None:
                return None
            self._close_gap(session)
            self._queue.append(("record", SessionStopped(session.id, now, session.seq, session.gap_frames, reason)))
        log.info("session %s %s: %d frames answered, %d in gaps", session.id, reason, session.seq, session.gap_frames)
        return session

    def _ensure_flusher(self) -> None:
        if not self._flusher:
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._thread = threading.Thread(target=self._run, name="records-flusher", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(FLUSH_INTERVAL_S):
            try:
                self.flush()
            except redis.RedisError as exc:
                self._failures += 1
                delay = redis_io.RECONNECT_BACKOFF.compute(self._failures)
                log.warning("records: Redis: %s; %d waiting, retrying in %.1f s", exc,
                            len(self._queue) + len(self._unsent), delay)
                self._stop.wait(delay)
            except Exception:  # noqa: BLE001 - a bug must not stop the flusher (the queue would only grow)
                log.exception("records flusher")

    def _received_at(self, now: float, event: Inference) -> float:
        return now - event.latency.server_ms / 1000

    def _to_record(self, item: tuple) -> Any:
        if item[0] == "record":
            record = item[1]
            if isinstance(record, SessionStopped):
                self._last_models.pop(record.session_id, None)
            return record
        _, session_id, seq, now, event = item
        models = models_of(event.models)
        changed = models != self._last_models.get(session_id)
        self._last_models[session_id] = models
        return FrameRecord(session_id, seq, self._received_at(now, event), event.frame_id, event.width, event.height,
                           person_rows(event.faces), models if changed else None)

    def flush(self) -> int:
        """Append what is queued (and sample the backlog when due) in one MULTI/EXEC -> records
        appended. Raises redis.RedisError; what was not appended is kept for the next call."""
        entries = self._unsent
        self._unsent = []
        while self._queue and len(entries) < FLUSH_MAX:
            item = self._queue.popleft()
            try:
                entries.append(encode(self._to_record(item)))
            except (KeyError, TypeError, ValueError) as exc:  # an event this gateway made: a bug, said loudly
                log.error("records: an inference event could not be recorded and is dropped: %s", exc)
        now = self.monotonic()
        sample = bool(self._sessions) and now >= self._next_sample
        if not entries and not sample:
            return 0
        pipe = self.redis.pipeline(transaction=True)
        for fields in entries:
            pipe.xadd(streams.RECORDS, fields)
        if sample:
            pipe.xlen(streams.RECORDS)
        try:
            replies = pipe.execute()
        except redis.RedisError:
            self._unsent = entries + self._unsent
            raise
        self._failures = 0
        if sample:
            self._next_sample = now + SAMPLE_INTERVAL_S
            self._observe(replies[-1])
        return len(entries)

    def _observe(self, backlog: int) -> None:
        if backlog >= self.max_backlog and not self._backlog_full:
            log.warning("records: %d wait for the database (limit %d): frames are not recorded, sessions get gaps",
                        backlog, self.max_backlog)
            self._backlog_full = True
        elif backlog < RESUME_FRACTION * self.max_backlog and self._backlog_full:
            log.info("records: the backlog is down to %d; recording frames again", backlog)
            self._backlog_full = False
