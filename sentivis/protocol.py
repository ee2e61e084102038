"""A frame's records, typed: what travels on the Redis streams and what the gateway sends clients.

One definition per record, as msgspec Structs, validated once where it enters a process (`decode`)
and encoded by the same definitions for Redis (msgpack) and for both Socket.IO parsers (JSON and
msgpack, gateway/transport.py):

    FrameMessage   a frame's journey: made by the gateway, filled in by the detector (faces, boxes,
                   scores) and the classifier (emotions, appearance), read back by the gateway
    Face           one detected face: Box, score, Emotion, appearance (the tracker's, never a client's)
    Inference      the `inference` event: TrackedFace (a person's id, the smoothed ShownEmotion),
                   Models, Latency
    FrameError     the `frame_error` event;  Limits  the `limits` event

A stream entry has two fields: `meta`, the FrameMessage in msgpack, and `data`, raw bytes (the
JPEG for frames, the crops as uint8 48x48 planes for faces, empty for results); nothing is base64.
Times are Unix epoch seconds (float) stamped by each stage (`Stamps`); `latency()` turns them into
the per-stage split that `inference` events carry. The events' JSON Schema (`event_schemas`) is
the OpenAPI document's and the page's: frontend/src/lib/protocol.ts is generated from it
(`sentivis schema`), and tests check both are current.
"""
from __future__ import annotations

import time
from typing import Annotated

import msgspec
import numpy as np

from sentivis.contract import CROP_SIZE
from sentivis.errors import FRAME_ERRORS
from sentivis.labels import EMOTIONS

# The gateway's Socket.IO endpoints, by parser (docs/PROTOCOL.md): the default one (JSON text with
# binary attachments) where any client lands with its library's defaults, and MessagePack, where a
# frame is one binary WebSocket message (half the messages to parse) and answers are binary too.
SOCKETIO_PATHS = {"default": "socket.io", "msgpack": "socket.io-msgpack"}

APPEARANCE_DTYPE = np.dtype("<f2")  # the appearance vector on the wire: little-endian float16
Pixels = Annotated[int, msgspec.Meta(ge=0)]
# The schema names the labels (the page's types follow); decoding does not check them: the model
# card and the classifier's contract test do.
Label = Annotated[str, msgspec.Meta(extra_json_schema={"enum": list(EMOTIONS)})]
Probabilities = Annotated[dict[str, float], msgspec.Meta(extra_json_schema={
    "properties": {e: {"type": "number", "minimum": 0, "maximum": 1} for e in EMOTIONS},
    "required": list(EMOTIONS)})]


class Box(msgspec.Struct, frozen=True):
    """The detector's face box in frame pixels (not the crop with its margin)."""

    x: int
    y: int
    width: Pixels
    height: Pixels


class Emotion(msgspec.Struct):
    """One face's emotion model output: probabilities in label order (sentivis.labels)."""

    label: Label
    confidence: float
    probabilities: Probabilities


class ShownEmotion(Emotion):
    """A person's emotion as shown: smoothed over time, the label held by hysteresis; `raw` is this
    frame's own output (sentivis/tracking)."""

    raw: Emotion


class Face(msgspec.Struct):
    """One face of a frame, from the detector (box, score) and the classifier (emotion, appearance)."""

    box: Box
    score: float
    emotion: Emotion | None = None  # None: no emotion model loaded
    appearance: bytes | None = None  # float16 LE appearance vector (sentivis/tracking/appearance.py)

    def appearance_vector(self) -> np.ndarray | None:
        """The appearance as float16 numbers (a view of the bytes, not a copy)."""
        return None if self.appearance is None else np.frombuffer(self.appearance, dtype=APPEARANCE_DTYPE)


class Stamps(msgspec.Struct, omit_defaults=True):
    """When each stage saw the frame (epoch seconds); unset where a stage did not run."""

    enqueued_at: float | None = None  # the gateway queued it
    detector_start: float | None = None
    decode_done: float | None = None
    detect_done: float | None = None  # detection and cropping
    classifier_start: float | None = None
    classify_done: float | None = None


class DetectorInfo(msgspec.Struct):
    ready: bool
    name: str | None = None
    min_score: float | None = None


class EmotionInfo(msgspec.Struct):
    ready: bool
    version: str | None = None
    sha256: str | None = None
    accuracy: float | None = None
    path: str | None = None
    source: str | None = None


NOT_LOADED = EmotionInfo(ready=False)


class Models(msgspec.Struct, omit_defaults=True):
    """The models that answered a frame (the page shows their health)."""

    detector: DetectorInfo | None = None
    emotion: EmotionInfo | None = None


class FrameMessage(msgspec.Struct):
    """One frame's journey on the streams. oneshot: an HTTP request's image (POST /api/v1/analyze,
    the readiness probe) rather than a connection's frame: its answer goes to a waiting request."""

    gateway: str
    sid: str
    frame_id: int
    received_at: float  # gateway receive time
    width: Pixels = 0
    height: Pixels = 0
    faces: list[Face] = msgspec.field(default_factory=list)
    stamps: Stamps = msgspec.field(default_factory=Stamps)
    models: Models = msgspec.field(default_factory=Models)
    error: str | None = None  # a sentivis.errors.FRAME_ERRORS code when the frame could not be processed
    oneshot: bool = False


class TrackedFace(msgspec.Struct):
    """A face as a client gets it: the person's id (stable while they stay in view) and emotion."""

    id: int
    box: Box
    score: float
    emotion: ShownEmotion | None


class Latency(msgspec.Struct, omit_defaults=True):
    """The server's per-stage split of one frame, in milliseconds."""

    server_ms: float  # gateway receive -> emit
    queue_ms: float  # every wait in a stream
    decode_ms: float | None = None
    detect_ms: float | None = None
    classify_ms: float | None = None


class Inference(msgspec.Struct):
    """The `inference` event: one per processed frame."""

    frame_id: int
    width: int
    height: int
    faces: list[TrackedFace]
    models: Models
    latency: Latency
    dropped_frames: int


class FrameError(msgspec.Struct):
    """The `frame_error` event: frame_id is the frame's where the payload carried a plausible one."""

    frame_id: int | None
    code: str
    message: str


class Limits(msgspec.Struct):
    """The `limits` event, on connect: what the gateway enforces on this connection's frames."""

    max_in_flight: int
    frame_timeout_ms: int
    max_frames_per_second: float
    max_frame_bytes: int
    max_frame_pixels: int


# What a client gets, by event name; `session` and `session_error` are described in docs/PROTOCOL.md.
EVENTS: dict[str, type[msgspec.Struct]] = {"limits": Limits, "inference": Inference, "frame_error": FrameError}


def event_schemas(ref_template: str = "#/$defs/{name}") -> dict[str, dict]:
    """JSON Schema of every record an event carries, by record name (Inference, TrackedFace, Box,
    ...), referring to each other with ref_template: the OpenAPI document's components and the
    source of the page's types."""
    return msgspec.json.schema_components(list(EVENTS.values()), ref_template=ref_template)[1]


def events_schema() -> dict:
    """One JSON Schema document: each event's payload by event name, the records under $defs."""
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "SentivisEvents",
            "description": "What a client gets from the gateway, by Socket.IO event (docs/PROTOCOL.md).",
            "type": "object", "additionalProperties": False, "required": list(EVENTS),
            "properties": {name: {"$ref": f"#/$defs/{record.__name__}"} for name, record in EVENTS.items()},
            "$defs": event_schemas()}


_ENCODER = msgspec.msgpack.Encoder()
_DECODER = msgspec.msgpack.Decoder(FrameMessage)


def encode(message: FrameMessage, data: bytes = b"") -> dict[str, bytes]:
    return {"meta": _ENCODER.encode(message), "data": data}


def decode(fields: dict[bytes, bytes]) -> tuple[FrameMessage, bytes]:
    """Stream entry fields -> the message, checked against its types, and its binary payload.
    Raises ValueError naming what is wrong."""
    meta = fields.get(b"meta")
    if meta is None:
        raise ValueError("malformed stream entry: no meta field")
    try:
        message = _DECODER.decode(meta)
    except msgspec.MsgspecError as exc:
        raise ValueError(f"malformed stream entry: {exc}") from None
    for face in message.faces:
        if face.appearance is not None and len(face.appearance) % APPEARANCE_DTYPE.itemsize:
            raise ValueError(f"malformed stream entry: an appearance of {len(face.appearance)} bytes is not float16")
    return message, fields.get(b"data", b"")


def now() -> float:
    """A stage's stamp: epoch seconds."""
    return time.time()


def pack_crops(crops: list[np.ndarray]) -> bytes:
    """48x48 uint8 grey crops -> one contiguous byte string."""
    if not crops:
        return b""
    return np.ascontiguousarray(np.stack(crops), dtype=np.uint8).tobytes()


def unpack_crops(data: bytes, count: int) -> np.ndarray:
    """-> uint8 [count, 48, 48]; raises ValueError if the size does not match."""
    expected = count * CROP_SIZE * CROP_SIZE
    if len(data) != expected:
        raise ValueError(f"expected {expected} bytes of crops for {count} faces, got {len(data)}")
    return np.frombuffer(data, dtype=np.uint8).reshape(count, CROP_SIZE, CROP_SIZE)


def latency(message: FrameMessage, emitted_at: float) -> Latency:
    """The per-stage split of one frame's time in the server. queue_ms is every wait in a stream
    (frames and faces)."""
    s = message.stamps

    def ms(a: float, b: float) -> float:
        return round(max(0.0, (b - a) * 1000), 3)

    queue = 0.0
    decode_ms = detect_ms = classify_ms = None
    if s.detector_start is not None:
        queue += ms(s.enqueued_at or message.received_at, s.detector_start)
        if s.decode_done is not None:
            decode_ms = ms(s.detector_start, s.decode_done)
        if s.detect_done is not None:
            detect_ms = ms(s.decode_done or s.detector_start, s.detect_done)
    if s.classifier_start is not None:
        queue += ms(s.detect_done or s.detector_start or message.received_at, s.classifier_start)
        if s.classify_done is not None:
            classify_ms = ms(s.classifier_start, s.classify_done)
    return Latency(ms(message.received_at, emitted_at), round(queue, 3), decode_ms, detect_ms, classify_ms)


def frame_error(frame_id: int | None, code: str, message: str | None = None) -> FrameError:
    """The `frame_error` event for a code of sentivis.errors.FRAME_ERRORS (its text, unless given)."""
    return FrameError(frame_id, code, message or FRAME_ERRORS[code])
