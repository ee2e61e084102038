"""The tables of recorded sessions (SQLAlchemy Core); migrations/versions/ creates them.

Every row written from a record has a primary key made of the record's own values (session id,
frame sequence number, person id), so writing a record twice leaves one row: the recorder
delivers at least once and writes with INSERT ... ON CONFLICT DO NOTHING. There are no foreign
keys: recorders of one group may write a session's frames before its start (another replica's
batch), and a session is deleted table by table (store.delete_session).

The session's counters (frames, people, gap_frames) grow only by the rows an insert really added
(its RETURNING), so a record written twice does not count twice. Probabilities and scores are
REAL (4 bytes in PostgreSQL): the tracker rounds smoothed values to 4 decimals, the model's own are
float32. On SQLite the two big tables are WITHOUT ROWID: the primary key is the table.
"""
from __future__ import annotations

import sqlalchemy as sa

from sentivis.labels import EMOTIONS

metadata = sa.MetaData()

RAW = [f"raw_{label}" for label in EMOTIONS]
NO_ROWID = {"sqlite_with_rowid": False}

sessions = sa.Table(
    "sessions", metadata,
    sa.Column("id", sa.String(32), primary_key=True),  # sorts by creation time (records.new_session_id)
    sa.Column("name", sa.String(200)),  # null only until the session's start record is written
    sa.Column("source", sa.String(16)),
    sa.Column("gateway", sa.String(200)),
    sa.Column("started_at", sa.Float),  # epoch seconds
    sa.Column("ended_at", sa.Float),  # null: still recording, or its gateway stopped without ending it
    sa.Column("end_reason", sa.String(32)),
    sa.Column("settings", sa.JSON),
    sa.Column("frames", sa.Integer, nullable=False, server_default="0"),  # frames written
    sa.Column("people", sa.Integer, nullable=False, server_default="0"),
    sa.Column("gap_frames", sa.Integer, nullable=False, server_default="0"),
    sa.Column("reported_frames", sa.Integer),  # what the gateway answered while recording (at its end)
    sa.Column("last_at", sa.Float),  # the latest frame written
    sa.Index("ix_sessions_started_at", "started_at"),
)

frames = sa.Table(
    "session_frames", metadata,
    sa.Column("session_id", sa.String(32), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("time", sa.Float, nullable=False),
    sa.Column("frame_id", sa.BigInteger, nullable=False),
    sa.Column("width", sa.Integer, nullable=False),
    sa.Column("height", sa.Integer, nullable=False),
    **NO_ROWID,
)

faces = sa.Table(
    "session_faces", metadata,
    sa.Column("session_id", sa.String(32), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("person_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("x", sa.Integer, nullable=False),
    sa.Column("y", sa.Integer, nullable=False),
    sa.Column("width", sa.Integer, nullable=False),
    sa.Column("height", sa.Integer, nullable=False),
    sa.Column("score", sa.REAL, nullable=False),
    sa.Column("label", sa.String(16)),  # null without an emotion model
    sa.Column("confidence", sa.REAL),
    *(sa.Column(label, sa.REAL) for label in EMOTIONS),  # smoothed
    *(sa.Column(name, sa.REAL) for name in RAW),  # this frame's own
    **NO_ROWID,
)

people = sa.Table(
    "session_people", metadata,
    sa.Column("session_id", sa.String(32), primary_key=True),
    sa.Column("person_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("first_seq", sa.Integer, nullable=False),
)

gaps = sa.Table(
    "session_gaps", metadata,
    sa.Column("session_id", sa.String(32), primary_key=True),
    sa.Column("first_seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("frames", sa.Integer, nullable=False),
    sa.Column("started_at", sa.Float, nullable=False),
    sa.Column("ended_at", sa.Float, nullable=False),
)

models = sa.Table(
    "session_models", metadata,
    sa.Column("session_id", sa.String(32), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),  # from this frame on
    sa.Column("emotion_version", sa.String(200)),
    sa.Column("detector", sa.String(200)),
    sa.Column("accuracy", sa.REAL),
)

# Sessions deleted through the API: records of theirs still in the stream are not written back.
deleted = sa.Table(
    "deleted_sessions", metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("deleted_at", sa.Float, nullable=False),
)

PER_SESSION = (faces, frames, people, gaps, models)  # every table with a session_id column
