"""Recorded sessions: sessions, their frames, faces, people, gaps, models; deleted sessions.

Revision ID: 0001
Revises:
Create Date: 2026-05-20
"""
import sqlalchemy as sa
from alembic import op

from sentivis.labels import EMOTIONS

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

NO_ROWID = {"sqlite_with_rowid": False}


def upgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(200)),
        sa.Column("source", sa.String(16)),
        sa.Column("gateway", sa.String(200)),
        sa.Column("started_at", sa.Float),
        sa.Column("ended_at", sa.Float),
        sa.Column("end_reason", sa.String(32)),
        sa.Column("settings", sa.JSON),
        sa.Column("frames", sa.Integer, nullable=False, server_default="0"),
        sa.Column("people", sa.Integer, nullable=False, server_default="0"),
        sa.Column("gap_frames", sa.Integer, nullable=False, server_default="0"),
        sa.Column("reported_frames", sa.Integer),
        sa.Column("last_at", sa.Float),
    )
    op.create_index("ix_sessions_started_at", "sessions", ["started_at"])
    op.create_table(
        "session_frames",
        sa.Column("session_id", sa.String(32), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("time", sa.Float, nullable=False),
        sa.Column("frame_id", sa.BigInteger, nullable=False),
        sa.Column("width", sa.Integer, nullable=False),
        sa.Column("height", sa.Integer, nullable=False),
        **NO_ROWID,
    )
    op.create_table(
        "session_faces",
        sa.Column("session_id", sa.String(32), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("person_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("x", sa.Integer, nullable=False),
        sa.Column("y", sa.Integer, nullable=False),
        sa.Column("width", sa.Integer, nullable=False),
        sa.Column("height", sa.Integer, nullable=False),
        sa.Column("score", sa.REAL, nullable=False),
        sa.Column("label", sa.String(16)),
        sa.Column("confidence", sa.REAL),
        *(sa.Column(label, sa.REAL) for label in EMOTIONS),
        *(sa.Column(f"raw_{label}", sa.REAL) for label in EMOTIONS),
        **NO_ROWID,
    )
    op.create_table(
        "session_people",
        sa.Column("session_id", sa.String(32), primary_key=True),
        sa.Column("person_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("first_seq", sa.Integer, nullable=False),
    )
    op.create_table(
        "session_gaps",
        sa.Column("session_id", sa.String(32), primary_key=True),
        sa.Column("first_seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("frames", sa.Integer, nullable=False),
        sa.Column("started_at", sa.Float, nullable=False),
        sa.Column("ended_at", sa.Float, nullable=False),
    )
    op.create_table(
        "session_models",
        sa.Column("session_id", sa.String(32), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("emotion_version", sa.String(200)),
        sa.Column("detector", sa.String(200)),
        sa.Column("accuracy", sa.REAL),
    )
    op.create_table(
        "deleted_sessions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("deleted_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    for table in ("deleted_sessions", "session_models", "session_gaps", "session_people", "session_faces",
                  "session_frames"):
        op.drop_table(table)
    op.drop_index("ix_sessions_started_at", "sessions")
    op.drop_table("sessions")
