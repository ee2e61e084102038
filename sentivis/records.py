"""Recorded sessions on the wire: what a gateway appends to `{sentivis}:records` and a recorder writes.

A session is recorded only when a client asks (`session_start`, docs/PROTOCOL.md). Its records
travel as msgspec Structs, one per stream entry, in the same two fields as every stream entry
(`meta`: msgpack, `data`: empty; sentivis/protocol.py):

- `SessionStarted`: id, name, start, the gateway, and the settings that shape the results;
- `FrameRecord`: one answered frame: its sequence number in the session (from 0, every answered
  frame counts, written or not), the gateway's receive time, frame_id, and per person the id,
  box, score, smoothed label, confidence and probabilities and this frame's raw probabilities;
  `models` only when the models that answered differ from the session's previous frame's;
- `Gap`: frames a gateway did not append because the records waiting were past
  SENTIVIS_RECORDS_MAX_BACKLOG (or Redis was unreachable): counted, never lost silently;
- `SessionStopped`: end, how many frames were answered while recording, why it ended.

The Structs are array-like (no field names on the wire: a frame with two people is about 300
bytes); the tag is the first element. A new field goes at the end of its Struct, with a default,
so that older entries still decode. Images are never part of a record.
"""
from __future__ import annotations

import secrets
import unicodedata
from typing import Annotated, Any, Mapping, Sequence

import msgspec

from sentivis import protocol
from sentivis.errors import SESSION_ERRORS, CodedError
from sentivis.labels import EMOTIONS
from sentivis.settings import Settings

MAX_SESSION_NAME = 200  # characters, after stripping
SESSION_ID_LENGTH = 32

# What shapes the recorded numbers: stored with each session (gateway's view of the settings).
SHAPING_SETTINGS = ("smoothing_s", "label_hysteresis", "track_max_absence_s", "track_max_people",
                    "detector_min_score", "detector_model", "face_margin", "face_shift", "max_faces")

SessionId = Annotated[str, msgspec.Meta(min_length=1, max_length=SESSION_ID_LENGTH)]
Count = Annotated[int, msgspec.Meta(ge=0)]
Probabilities = Annotated[tuple[float, ...], msgspec.Meta(min_length=len(EMOTIONS), max_length=len(EMOTIONS))]
Label = Annotated[str, msgspec.Meta(max_length=16)]
ShortText = Annotated[str, msgspec.Meta(max_length=200)]


class SessionRefused(CodedError):
    """A session request that is refused: `code` from sentivis.errors.SESSION_ERRORS; `session_id`
    the session it concerns, where there is one."""

    table = SESSION_ERRORS

    def __init__(self, code: str, message: str | None = None, session_id: str | None = None):
        super().__init__(code, message)
        self.session_id = session_id

    def event(self) -> dict[str, Any]:
        """The `session_error` event: code, message and the session's id where there is one."""
        out = {"code": self.code, "message": self.message}
        if self.session_id is not None:
            out["id"] = self.session_id
        return out


class PersonRow(msgspec.Struct, array_like=True, frozen=True):
    """One person in one answered frame; emotion fields are None without an emotion model."""

    id: int
    box: tuple[int, int, int, int]  # x, y, width, height in image pixels
    score: float
    label: Label | None = None  # the smoothed label shown
    confidence: float | None = None
    probabilities: Probabilities | None = None  # smoothed, EMOTIONS order
    raw: Probabilities | None = None  # this frame's own, EMOTIONS order


class Models(msgspec.Struct, array_like=True, frozen=True):
    emotion_version: ShortText | None = None
    detector: ShortText | None = None
    accuracy: float | None = None


class SessionStarted(msgspec.Struct, tag="started", array_like=True, frozen=True):
    session_id: SessionId
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_SESSION_NAME)]
    started_at: float
    gateway: ShortText
    source: ShortText = "live"  # "live" (a connection), "image" (POST /api/v1/analyze), "video", "file"
    settings: dict[str, float | int | str | None] = {}


class FrameRecord(msgspec.Struct, tag="frame", array_like=True, frozen=True):
    session_id: SessionId
    seq: Count
    time: float  # epoch seconds: the gateway received the frame (a file's: start + its time in the video)
    frame_id: int
    width: Count
    height: Count
    people: list[PersonRow]
    models: Models | None = None  # only when they differ from the previous frame's


class Gap(msgspec.Struct, tag="gap", array_like=True, frozen=True):
    session_id: SessionId
    first_seq: Count  # the first frame not recorded
    frames: Count  # how many in a row
    started_at: float
    ended_at: float


class SessionStopped(msgspec.Struct, tag="stopped", array_like=True, frozen=True):
    session_id: SessionId
    ended_at: float
    frames: Count  # frames answered while recording: written or in gaps
    gap_frames: Count
    reason: ShortText = "stopped"  # "stopped", "disconnected", "shutdown", "error"


Record = SessionStarted | FrameRecord | Gap | SessionStopped

_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(Record)


def encode(record: Record) -> dict[str, bytes]:
    """The stream entry's fields of one record (as sentivis.protocol.encode lays them out)."""
    return {"meta": _encoder.encode(record), "data": b""}


def decode(fields: Mapping[bytes, bytes]) -> Record:
    """A stream entry's fields -> its record; ValueError naming the problem if it is not one."""
    try:
        return _decoder.decode(fields[b"meta"])
    except KeyError:
        raise ValueError("malformed record: no meta field") from None
    except msgspec.DecodeError as exc:  # ValidationError included
        raise ValueError(f"malformed record: {exc}") from None


def new_session_id(now: float) -> str:
    """32 hex digits that sort by creation time (milliseconds first), then 80 random bits."""
    return f"{int(now * 1000):012x}{secrets.token_hex(10)}"


def is_session_id(text: Any) -> bool:
    return isinstance(text, str) and len(text) == SESSION_ID_LENGTH and all(c in "0123456789abcdef" for c in text)


def check_session_name(payload: Any) -> str:
    """The name of a `session_start` payload {"name": str}, stripped; SessionRefused otherwise.
    A long name is refused before anything else is done with it."""
    name = payload.get("name") if isinstance(payload, dict) else None
    if not isinstance(name, str):
        raise SessionRefused("invalid_session_name", "session_start needs an object {\"name\": \"...\"}")
    if len(name) > 4 * MAX_SESSION_NAME:
        raise SessionRefused("invalid_session_name", f"the session name is longer than {MAX_SESSION_NAME} characters")
    name = name.strip()
    if not name or len(name) > MAX_SESSION_NAME:
        raise SessionRefused("invalid_session_name",
                             f"the session name must have 1 to {MAX_SESSION_NAME} characters; it has {len(name)}")
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in name):
        raise SessionRefused("invalid_session_name", "the session name must not contain control characters")
    return name


def session_settings(settings: Settings) -> dict[str, Any]:
    return {name: getattr(settings, name) for name in SHAPING_SETTINGS}


def _probabilities(given: dict[str, float]) -> tuple[float, ...]:
    return tuple(float(given[label]) for label in EMOTIONS)


def person_rows(faces: Sequence[protocol.TrackedFace]) -> list[PersonRow]:
    """The people of an `inference` event's faces (id, box, score, emotion with its raw part)."""
    rows = []
    for face in faces:
        box, emotion = face.box, face.emotion
        row = PersonRow(face.id, (box.x, box.y, box.width, box.height), face.score)
        if emotion is not None:
            row = PersonRow(row.id, row.box, row.score, emotion.label, emotion.confidence,
                            _probabilities(emotion.probabilities), _probabilities(emotion.raw.probabilities))
        rows.append(row)
    return rows


def models_of(models: protocol.Models) -> Models:
    """The models that answered a frame, as recorded."""
    emotion, detector = models.emotion, models.detector
    return Models(emotion.version if emotion else None, detector.name if detector else None,
                  emotion.accuracy if emotion else None)


def example_frame(session_id: str, seq: int, at: float, people: int = 2) -> FrameRecord:
    """A plausible answered frame with `people` people (the tests and the recorder benchmark)."""
    rows = []
    for person in range(1, people + 1):
        smoothed = tuple(round((person + i + seq % 5) / 28 + (0.25 if i == 3 else 0), 4) for i in range(len(EMOTIONS)))
        rows.append(PersonRow(person, (40 * person, 30, 64, 80), 0.93, EMOTIONS[(seq // 30 + person) % len(EMOTIONS)],
                              0.61, smoothed, tuple(round(v * 0.9, 6) for v in smoothed)))
    return FrameRecord(session_id, seq, at, seq * 2 + 1, 320, 240, rows)
