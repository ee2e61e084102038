"""Reading recorded sessions: the list, one session with a summary per person, its rows as CSV or JSONL.

The per-person summary is the page's (frontend/src/lib/people.ts, SessionSummary): sightings in
time order; the time between two sightings at most SIGHTING_GAP_S apart counts as in view and goes
to the label shown at the first of the two; each emotion's share is of the time a label was shown;
the dominant emotion has the largest share (the first in EMOTIONS order on a tie; with no time yet,
the label shown last). Mean confidence is over the sightings that had an emotion.

The rows stream from the database (yield_per: a server-side cursor on PostgreSQL), a chunk of
text at a time, with the CSV columns of the page's download (frontend/src/lib/sessionLog.ts).
"""
from __future__ import annotations

import csv
import io
from typing import Any, Iterator

import msgspec
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from sentivis.labels import EMOTIONS
from sentivis.sessions import schema
from sentivis.sessions.db import reading

SIGHTING_GAP_S = 1.0  # frontend/src/lib/config.ts SIGHTING_GAP_MS
CSV_COLUMNS = ["time_s", "frame_id", "face_id", "x", "y", "width", "height", "score", *EMOTIONS, "label",
               "confidence"]
FORMATS = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}
ROWS_PER_FETCH = 1000
MAX_PAGE = 200

s, fr, fa = schema.sessions, schema.frames, schema.faces
LIST_COLUMNS = (s.c.id, s.c.name, s.c.source, s.c.started_at, s.c.ended_at, s.c.end_reason, s.c.last_at,
                s.c.frames, s.c.people, s.c.gap_frames, s.c.reported_frames)


def _session(row: sa.Row) -> dict[str, Any]:
    end = row.ended_at if row.ended_at is not None else row.last_at
    return {"id": row.id, "name": row.name, "source": row.source, "started_at": row.started_at,
            "ended_at": row.ended_at, "end_reason": row.end_reason,
            "duration_s": round(max(0.0, end - row.started_at), 3) if end is not None else 0.0,
            "people": row.people, "frames": row.frames, "gap_frames": row.gap_frames,
            "reported_frames": row.reported_frames}


def list_sessions(engine: Engine, limit: int, before: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
    """Newest first, at most `limit`, those created before the session id `before` -> (sessions,
    the cursor of the next page or None)."""
    query = sa.select(*LIST_COLUMNS).where(s.c.name.is_not(None)).order_by(s.c.id.desc()).limit(limit + 1)
    if before is not None:
        query = query.where(s.c.id < before)
    with reading(engine.connect()) as connection:
        rows = connection.execute(query).all()
    page = [_session(row) for row in rows[:limit]]
    return page, (page[-1]["id"] if len(rows) > limit else None)


class _Person:
    """One person's sightings summed as they stream by (people.ts SessionSummary)."""

    def __init__(self, at: float):
        self.first = self.last = at
        self.in_view = 0.0
        self.sightings = 0
        self.per_emotion = dict.fromkeys(EMOTIONS, 0.0)
        self.label: str | None = None
        self.confidence_sum, self.confidence_n = 0.0, 0

    def add(self, at: float, label: str | None, confidence: float | None) -> None:
        if self.sightings and at < self.last:
            return  # out of order: the history stays monotonic, as on the page
        if self.sightings:
            dt = at - self.last
            if dt <= SIGHTING_GAP_S:
                self.in_view += dt
                if self.label in self.per_emotion:
                    self.per_emotion[self.label] += dt
        self.last, self.label = at, label
        self.sightings += 1
        if confidence is not None:
            self.confidence_sum += confidence
            self.confidence_n += 1

    def summary(self, person_id: int, origin: float) -> dict[str, Any]:
        total = sum(self.per_emotion.values())
        shares = {e: round(v / total, 4) for e, v in self.per_emotion.items()} if total > 0 else None
        dominant = max(EMOTIONS, key=lambda e: (self.per_emotion[e], -EMOTIONS.index(e))) if total > 0 else self.label
        return {"id": person_id, "first_seen_s": round(self.first - origin, 3),
                "last_seen_s": round(self.last - origin, 3),
                "sightings": self.sightings, "in_view_s": round(self.in_view, 3), "shares": shares,
                "dominant": dominant, "mean_confidence": (round(self.confidence_sum / self.confidence_n, 4)
                                                          if self.confidence_n else None)}


def _rows_query(session_id: str, *columns) -> sa.Select:
    on = sa.and_(fa.c.session_id == fr.c.session_id, fa.c.seq == fr.c.seq)
    return (sa.select(*columns).select_from(fa.join(fr, on)).where(fa.c.session_id == session_id)
            .order_by(fa.c.seq, fa.c.person_id))


def get_session(engine: Engine, session_id: str) -> dict[str, Any] | None:
    """The session's metadata, models, gaps and one summary per person; None when there is none."""
    with reading(engine.connect()) as connection:
        row = connection.execute(sa.select(*LIST_COLUMNS, s.c.gateway, s.c.settings)
                                 .where(s.c.id == session_id, s.c.name.is_not(None))).first()
        if row is None:
            return None
        out = _session(row) | {"gateway": row.gateway, "settings": row.settings or {}}
        m, g = schema.models, schema.gaps
        changes = connection.execute(sa.select(m).where(m.c.session_id == session_id).order_by(m.c.seq))
        out["models"] = [{"from_seq": r.seq, "emotion_version": r.emotion_version, "detector": r.detector,
                          "accuracy": None if r.accuracy is None else round(r.accuracy, 4)} for r in changes]
        out["gaps"] = [{"first_seq": r.first_seq, "frames": r.frames, "started_at": r.started_at,
                        "ended_at": r.ended_at}
                       for r in connection.execute(sa.select(g).where(g.c.session_id == session_id)
                                                   .order_by(g.c.first_seq))]
        people: dict[int, _Person] = {}
        origin = None
        result = connection.execution_options(yield_per=ROWS_PER_FETCH).execute(
            _rows_query(session_id, fa.c.person_id, fr.c.time, fa.c.label, fa.c.confidence))
        for person_id, at, label, confidence in result:
            origin = at if origin is None else origin
            person = people.get(person_id) or people.setdefault(person_id, _Person(at))
            person.add(at, label, confidence)
    out["people_summary"] = [p.summary(pid, origin) for pid, p in sorted(people.items())]
    return out


def _cell(value: float | None) -> float | int | str:
    """A number as the page writes it: 4 decimals at most, whole numbers without a point, empty for none."""
    if value is None:
        return ""
    value = round(value, 4)
    return int(value) if value.is_integer() else value


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def stream_rows(engine: Engine, session_id: str, fmt: str) -> Iterator[bytes]:
    """The session's rows, one per person per answered frame in frame order, as CSV or JSONL
    chunks; the first chunk is the CSV header. Reads ROWS_PER_FETCH rows at a time."""
    columns = (fr.c.time, fr.c.frame_id, fa.c.seq, fa.c.person_id, fa.c.x, fa.c.y, fa.c.width, fa.c.height,
               fa.c.score, fa.c.label, fa.c.confidence, *(fa.c[e] for e in EMOTIONS), *(fa.c[r] for r in schema.RAW))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if fmt == "csv":
        writer.writerow(CSV_COLUMNS)
        yield buffer.getvalue().encode()
    encoder = msgspec.json.Encoder()
    n = len(EMOTIONS)
    with reading(engine.connect()) as connection:
        result = connection.execution_options(yield_per=ROWS_PER_FETCH).execute(_rows_query(session_id, *columns))
        origin = None
        for partition in result.partitions():
            buffer.seek(0)
            buffer.truncate()
            chunk = []
            for row in partition:
                at, frame_id, seq, person, x, y, w, h, score, label, confidence = row[:11]
                smoothed, raw = row[11:11 + n], row[11 + n:]
                origin = at if origin is None else origin
                time_s = round((at - origin) * 1000) / 1000
                if fmt == "csv":
                    writer.writerow([f"{time_s:.3f}", frame_id, person, x, y, w, h, _cell(score),
                                     *map(_cell, smoothed), label or "", _cell(confidence)])
                else:
                    chunk.append(encoder.encode({
                        "time_s": time_s, "time": at, "seq": seq, "frame_id": frame_id, "face_id": person,
                        "box": {"x": x, "y": y, "width": w, "height": h}, "score": _round(score),
                        "label": label, "confidence": _round(confidence),
                        "probabilities": None if smoothed[0] is None else dict(zip(EMOTIONS, map(_round, smoothed),
                                                                                       strict=True)),
                        "raw": None if raw[0] is None else dict(zip(EMOTIONS, (_round(v, 6) for v in raw),
                                                                    strict=True))}))
            yield buffer.getvalue().encode() if fmt == "csv" else b"\n".join(chunk) + b"\n"
