"""Checks a `frame` event before anything is decoded: shape, size, format and pixel count."""
from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import simplejpeg
from PIL import Image, UnidentifiedImageError

from sentivis.errors import FRAME_ERRORS, CodedError
from sentivis.settings import Settings

JPEG_MAGIC = b"\xff\xd8\xff"


class FrameRejected(CodedError):
    """A frame refused by its checks: `code` from sentivis.errors.FRAME_ERRORS, the frame's id where
    it had a plausible one."""

    table = FRAME_ERRORS

    def __init__(self, code: str, frame_id: int | None = None, detail: str | None = None):
        super().__init__(code, detail)
        self.frame_id = frame_id


@dataclass
class ValidFrame:
    frame_id: int
    jpeg: bytes
    width: int
    height: int


def _frame_id(payload: dict[str, Any]) -> int:
    frame_id = payload.get("frame_id")
    # bool is an int in Python; a frame id of True is a client bug, not frame 1.
    if isinstance(frame_id, bool) or not isinstance(frame_id, int) or frame_id < 0 or frame_id >= 2**53:
        raise FrameRejected("invalid_frame_id")
    return frame_id


def jpeg_size(data: bytes) -> tuple[int, int]:
    """Width and height from the JPEG header alone; raises FrameRejected('not_jpeg').

    libjpeg-turbo reads the header and decodes nothing: 4 us a frame, where PIL's Image.open took
    37 (measured on the benchmark's frames); every offered frame pays it, refused or not. A header
    it refuses (it takes no side over 65,500 pixels) is read again by PIL, to say why."""
    if not data.startswith(JPEG_MAGIC):
        raise FrameRejected("not_jpeg")
    try:
        height, width, _, _ = simplejpeg.decode_jpeg_header(data)
    except ValueError:
        return _pil_size(data)
    return width, height


def _pil_size(data: bytes) -> tuple[int, int]:
    try:
        with Image.open(io.BytesIO(data), formats=["JPEG"]) as img:  # reads the header, decodes nothing
            return img.size
    except Image.DecompressionBombError as exc:
        raise FrameRejected("image_too_large", detail=f"the JPEG header claims too many pixels ({exc})") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise FrameRejected("not_jpeg", detail=f"the JPEG header cannot be read ({exc})") from None


def validate_frame(payload: Any, settings: Settings) -> ValidFrame:
    """A `frame` event's payload, checked against the settings' limits; raises FrameRejected."""
    if not isinstance(payload, dict):
        raise FrameRejected("invalid_payload")
    frame_id = _frame_id(payload)
    if "image" not in payload or payload["image"] is None:
        raise FrameRejected("missing_image", frame_id)
    image = payload["image"]
    if isinstance(image, (bytearray, memoryview)):
        image = bytes(image)
    if not isinstance(image, bytes):
        raise FrameRejected("invalid_image_type", frame_id)
    if not image:
        raise FrameRejected("empty_image", frame_id)
    if len(image) > settings.max_frame_bytes:
        raise FrameRejected("frame_too_large", frame_id,
                            f"the image is {len(image)} bytes; the limit is {settings.max_frame_bytes}")
    try:
        width, height = jpeg_size(image)
    except FrameRejected as exc:
        exc.frame_id = frame_id
        raise
    if width * height > settings.max_frame_pixels or width <= 0 or height <= 0:
        raise FrameRejected("image_too_large", frame_id,
                            f"the image claims {width}x{height} pixels; the limit is {settings.max_frame_pixels}"
                            " pixels")
    return ValidFrame(frame_id, image, width, height)
