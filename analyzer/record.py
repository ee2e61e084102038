"""`sentivis analyze --session NAME`: an analysed file kept as a recorded session, beside the live ones.

Written straight to the sessions database (SENTIVIS_DATABASE_URL) with the recorder's own store
functions (sentivis.sessions.store), a transaction every BATCH_FRAMES frames: the analyzer runs
without any service, so there is no stream to go through. A frame's time is the session's start
plus its time in the video; its frame_id is the frame's index in the file.
"""
from __future__ import annotations

import time
from typing import Any, Callable

from sqlalchemy.engine import Engine

from sentivis.protocol import Models, TrackedFace
from sentivis.records import (
    FrameRecord,
    SessionStarted,
    SessionStopped,
    models_of,
    new_session_id,
    person_rows,
    session_settings,
)
from sentivis.sessions import store
from sentivis.settings import Settings

BATCH_FRAMES = 500


class SessionWriter:
    """One file's session: started when made, a frame at a time, ended by close()."""

    def __init__(self, engine: Engine, name: str, source: str, settings: Settings,
                 clock: Callable[[], float] = time.time):
        self.engine = engine
        self.started_at = clock()
        self.clock = clock
        self.session_id = new_session_id(self.started_at)
        self.seq = 0
        self._models = None
        self._pending: list[Any] = [SessionStarted(self.session_id, name, self.started_at, "analyzer", source,
                                                   session_settings(settings))]
        self._flush()

    def frame(self, index: int, time_s: float, width: int, height: int, tracked: list[TrackedFace],
              models: Models) -> None:
        """One analysed frame: its tracked faces (id, box, score, emotion with its raw part)."""
        current = models_of(models)
        self._pending.append(FrameRecord(self.session_id, self.seq, self.started_at + time_s, index, width, height,
                                         person_rows(tracked), current if current != self._models else None))
        self._models = current
        self.seq += 1
        if len(self._pending) >= BATCH_FRAMES:
            self._flush()

    def close(self, reason: str = "stopped") -> None:
        self._pending.append(SessionStopped(self.session_id, self.clock(), self.seq, 0, reason))
        self._flush()

    def _flush(self) -> None:
        with self.engine.begin() as connection:
            store.write_records(connection, self._pending)
        self._pending = []
