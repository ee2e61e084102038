"""The messages that travel on the Redis streams, and their binary encoding.

Each stream entry has two fields: `meta`, a msgpack map, and `data`, raw bytes (the JPEG for
frames, the face crops as uint8 48x48 planes for faces, empty for results). Nothing is
base64-encoded.

A face is a map {"box", "score", "emotion"} and, in results, "appearance": the classifier's
appearance vector of the crop (sentivis.tracking.appearance), which the gateway's tracker uses
to tell people apart. In memory it is a float16 numpy array; on the wire its little-endian
float16 bytes (128 bytes for 64 numbers; a msgpack list of floats would take 576).

Times are Unix epoch seconds (float) stamped by each stage; `latency_ms()` turns them into
the per-stage split that `inference` events carry.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import msgpack
import numpy as np

from sentivis.contract import CROP_SIZE

# The gateway's Socket.IO endpoints, by parser (docs/PROTOCOL.md): the default one (JSON text with
# binary attachments) where any client lands with its library's defaults, and MessagePack, where a
# frame is one binary WebSocket message (half the messages to parse) and answers are binary too.
SOCKETIO_PATHS = {"default": "socket.io", "msgpack": "socket.io-msgpack"}

# frame_error codes, sent to the browser; docs/PROTOCOL.md lists them (tests/docs checks it).
ERROR_CODES = {
    "invalid_payload": "the frame event must be an object with frame_id and image",
    "invalid_frame_id": "frame_id must be a non-negative integer",
    "missing_image": "the frame has no image",
    "invalid_image_type": "image must be binary JPEG bytes",
    "empty_image": "the image is empty",
    "frame_too_large": "the image is larger than the byte limit",
    "not_jpeg": "the image is not a JPEG",
    "image_too_large": "the image has more pixels than the limit",
    "duplicate_frame_id": "a frame with this frame_id is already in flight",
    "too_many_in_flight": "too many frames in flight for this connection; frame dropped",
    "overloaded": "the server is overloaded and cannot serve this frame in time; frame dropped, send fewer",
    "rate_limited": "the connection sends more frames per second than the limit; frame dropped",
    "decode_failed": "the JPEG could not be decoded",
    "expired": "the frame waited too long in the queue and was dropped",
    "timeout": "no result arrived in time; the frame was given up",
    "unavailable": "the processing backend is unavailable",
    "internal_error": "the frame could not be processed",
    "unknown_event": "the gateway takes no such event from a client",
}


@dataclass
class FrameMessage:
    """One frame's journey: created by the gateway, extended by detector and classifier."""

    gateway: str
    sid: str
    frame_id: int
    received_at: float  # gateway receive time
    width: int = 0
    height: int = 0
    faces: list[dict[str, Any]] = field(default_factory=list)
    stamps: dict[str, float] = field(default_factory=dict)  # stage -> epoch seconds
    models: dict[str, Any] = field(default_factory=dict)
    error: str | None = None  # an ERROR_CODES key when the frame could not be processed

    def stamp(self, stage: str, at: float | None = None) -> None:
        self.stamps[stage] = time.time() if at is None else at

    def to_meta(self) -> dict[str, Any]:
        return {"gateway": self.gateway, "sid": self.sid, "frame_id": self.frame_id,
                "received_at": self.received_at, "width": self.width, "height": self.height,
                "faces": [_face_to_wire(f) for f in self.faces], "stamps": self.stamps, "models": self.models,
                "error": self.error}

    @classmethod
    def from_meta(cls, meta: dict[str, Any]) -> "FrameMessage":
        return cls(gateway=meta["gateway"], sid=meta["sid"], frame_id=meta["frame_id"],
                   received_at=meta["received_at"], width=meta.get("width", 0), height=meta.get("height", 0),
                   faces=[_face_from_wire(f) for f in meta.get("faces") or []], stamps=dict(meta.get("stamps") or {}),
                   models=dict(meta.get("models") or {}), error=meta.get("error"))


APPEARANCE_DTYPE = np.dtype("<f2")  # the appearance vector on the wire: little-endian float16


def _face_to_wire(face: Any) -> Any:
    vector = face.get("appearance") if isinstance(face, dict) else None
    if vector is None or isinstance(vector, bytes):
        return face
    return {**face, "appearance": np.asarray(vector, dtype=APPEARANCE_DTYPE).tobytes()}


def _face_from_wire(face: Any) -> Any:
    """A face map as it came, its appearance bytes as a float16 array (a view, not a copy).
    Raises ValueError for appearance bytes that are not float16 numbers."""
    data = face.get("appearance") if isinstance(face, dict) else None
    if data is None:
        return face
    if not isinstance(data, bytes) or len(data) % APPEARANCE_DTYPE.itemsize:
        raise ValueError(f"a face's appearance must be float16 bytes; got {type(data).__name__} "
                         f"of length {len(data) if isinstance(data, bytes) else '?'}")
    face["appearance"] = np.frombuffer(data, dtype=APPEARANCE_DTYPE)
    return face


def encode(message: FrameMessage, data: bytes = b"") -> dict[str, bytes]:
    return {"meta": msgpack.packb(message.to_meta(), use_bin_type=True), "data": data}


def decode(fields: dict[bytes, bytes]) -> tuple[FrameMessage, bytes]:
    """Stream entry fields -> message and its binary payload. Raises ValueError if malformed."""
    try:
        meta = msgpack.unpackb(fields[b"meta"], raw=False)
        return FrameMessage.from_meta(meta), fields.get(b"data", b"")
    except (KeyError, TypeError, ValueError, msgpack.ExtraData, msgpack.FormatError) as exc:
        raise ValueError(f"malformed stream entry: {exc}") from exc


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


def latency_ms(message: FrameMessage, emitted_at: float) -> dict[str, float]:
    """The per-stage split of one frame's time in the server, in milliseconds.

    Stamps (epoch seconds): received_at (gateway), detector_start, decode_done, detect_done,
    classifier_start, classify_done. queue_ms is every wait in a stream (frames and faces).
    """
    s = message.stamps
    ms = lambda a, b: round(max(0.0, (b - a) * 1000), 3)  # noqa: E731
    out = {"server_ms": ms(message.received_at, emitted_at)}
    queue = 0.0
    if "detector_start" in s:
        queue += ms(s.get("enqueued_at", message.received_at), s["detector_start"])
        if "decode_done" in s:
            out["decode_ms"] = ms(s["detector_start"], s["decode_done"])
        if "detect_done" in s:
            out["detect_ms"] = ms(s.get("decode_done", s["detector_start"]), s["detect_done"])
    if "classifier_start" in s:
        queue += ms(s.get("detect_done", s.get("detector_start", message.received_at)), s["classifier_start"])
        if "classify_done" in s:
            out["classify_ms"] = ms(s["classifier_start"], s["classify_done"])
    out["queue_ms"] = round(queue, 3)
    return out
