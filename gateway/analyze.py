"""One uploaded image for POST /api/v1/analyze: read it from the request, check it, make it a JPEG.

The same limits as a Socket.IO frame (max_frame_bytes, max_frame_pixels), checked on the bytes
and the header before anything is decoded. A PNG is decoded here once, after its header passed
the pixel check, and re-encoded as a JPEG: the detectors only read JPEG.
"""
from __future__ import annotations

import io
from dataclasses import dataclass

from flask import Request
from PIL import Image

from gateway.frame_checks import JPEG_MAGIC, FrameRejected, jpeg_size
from sentivis.errors import SentivisError
from sentivis.settings import Settings

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
IMAGE_TYPES = ("image/jpeg", "image/png")
FORM_FIELD = "image"
# Room for the multipart boundaries and headers around an image at the byte limit.
MULTIPART_SLACK_BYTES = 64 * 1024
PNG_TO_JPEG_QUALITY = 90

# A worker's error code -> the HTTP status of the request that waited for it.
WORKER_ERROR_STATUS = {"decode_failed": 422, "internal_error": 500}


class ImageRejected(SentivisError):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass
class UploadedImage:
    jpeg: bytes
    width: int
    height: int
    source_format: str  # "jpeg" or "png"


def max_request_bytes(settings: Settings) -> int:
    return settings.max_frame_bytes + MULTIPART_SLACK_BYTES


def read_upload(request: Request, settings: Settings) -> bytes:
    """The image bytes of a multipart field "image" or a raw image/jpeg|image/png body."""
    mimetype = request.mimetype
    if mimetype == "multipart/form-data":
        upload = request.files.get(FORM_FIELD)
        if upload is None:
            raise ImageRejected(400, "missing_image", f"the multipart form has no {FORM_FIELD!r} file field")
        data = upload.read(settings.max_frame_bytes + 1)
    elif mimetype in IMAGE_TYPES:
        data = request.get_data(cache=False)
    else:
        raise ImageRejected(400, "unsupported_type",
                            f"Content-Type {mimetype or 'none'!r} is not supported: send image/jpeg or image/png "
                            f"as the body, or multipart/form-data with the file in field {FORM_FIELD!r}")
    if not data:
        raise ImageRejected(400, "empty_image", "the image is empty")
    if len(data) > settings.max_frame_bytes:
        raise ImageRejected(413, "frame_too_large",
                            f"the image is larger than the limit of {settings.max_frame_bytes} bytes")
    return data


def prepare_image(data: bytes, settings: Settings) -> UploadedImage:
    """Check an uploaded JPEG or PNG against the limits; a PNG comes back as a JPEG."""
    if data.startswith(JPEG_MAGIC):
        try:
            width, height = jpeg_size(data)
        except FrameRejected as exc:
            if exc.code == "image_too_large":
                raise ImageRejected(413, exc.code, exc.message) from None
            raise ImageRejected(422, "decode_failed", exc.message) from None
        _check_pixels(width, height, settings)
        return UploadedImage(data, width, height, "jpeg")
    if data.startswith(PNG_MAGIC):
        return _png_to_jpeg(data, settings)
    raise ImageRejected(400, "unsupported_type", "the file is not a JPEG or PNG image")


def _check_pixels(width: int, height: int, settings: Settings) -> None:
    if width <= 0 or height <= 0 or width * height > settings.max_frame_pixels:
        raise ImageRejected(413, "image_too_large", f"the image is {width}x{height} pixels; the limit is "
                                                    f"{settings.max_frame_pixels} pixels")


def _png_to_jpeg(data: bytes, settings: Settings) -> UploadedImage:
    try:
        with Image.open(io.BytesIO(data), formats=["PNG"]) as img:  # the header only, so far
            _check_pixels(*img.size, settings)
            img.load()
            rgb = _flatten(img)
    except ImageRejected:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageRejected(413, "image_too_large", str(exc)) from None
    except (OSError, ValueError, SyntaxError, EOFError) as exc:  # what PIL raises for broken files
        raise ImageRejected(422, "decode_failed", f"the PNG cannot be decoded ({exc})") from None
    out = io.BytesIO()
    rgb.save(out, format="JPEG", quality=PNG_TO_JPEG_QUALITY)
    return UploadedImage(out.getvalue(), rgb.width, rgb.height, "png")


def _flatten(img: Image.Image) -> Image.Image:
    """RGB for the JPEG encoder; transparent pixels become white rather than whatever colour they hide."""
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        white = Image.new("RGB", img.size, (255, 255, 255))
        white.paste(rgba, mask=rgba.getchannel("A"))
        return white
    return img.convert("RGB")
