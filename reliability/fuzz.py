"""Malformed `frame` events, each with the frame_error codes the gateway may answer it with.

Every case is bad: a corrupted JPEG that libjpeg-turbo would still decode is not kept, because
nothing could tell it from a real frame.
"""
from __future__ import annotations

import io
import random
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np
import simplejpeg
from PIL import Image

from toolkit.samples import huge_header


@dataclass
class BadFrame:
    kind: str
    payload: Any
    codes: frozenset[str]  # any of these is a correct answer
    reaches_workers: bool = False  # passes the gateway's checks; the detector rejects it


def _decodes(data: bytes) -> bool:
    try:
        simplejpeg.decode_jpeg(data)
        return True
    except (ValueError, TypeError):
        return False


def _sof_end(data: bytes) -> int:
    """The offset just past the JPEG start-of-frame segment (which carries the size)."""
    i = 2
    while i + 4 <= len(data):
        marker, length = data[i + 1], int.from_bytes(data[i + 2:i + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            return i + 2 + length
        i += 2 + length
    raise ValueError("no SOF marker")


def _scan_start(data: bytes) -> int:
    return data.index(b"\xff\xda") + 2


def other_format(rgb: np.ndarray, fmt: str) -> bytes:
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, format=fmt)
    return out.getvalue()


def bad_frames(jpeg: bytes, max_frame_bytes: int, count: int = 1000, seed: int = 7,
               first_id: int = 1_000_000) -> Iterator[BadFrame]:
    """`count` malformed frames over every kind below, in a shuffled but repeatable order."""
    rng = random.Random(seed)
    rgb = np.asarray(Image.open(io.BytesIO(jpeg)).convert("RGB"))
    sof_end, scan = _sof_end(jpeg), _scan_start(jpeg)
    formats = [other_format(rgb, f) for f in ("PNG", "GIF", "BMP", "WEBP", "TIFF")]
    ids = iter(range(first_id, first_id + 10 * count))
    one = frozenset

    def truncated() -> BadFrame:
        cut = rng.randrange(1, len(jpeg) - 1)
        # Cut inside the headers: the gateway cannot read the size; past them: the decoder fails.
        codes = one({"not_jpeg"}) if cut < sof_end else one({"not_jpeg", "decode_failed"})
        return BadFrame("truncated_jpeg", {"frame_id": next(ids), "image": jpeg[:cut]}, codes, cut >= sof_end)

    def corrupted() -> BadFrame:
        while True:
            data = bytearray(jpeg)
            for _ in range(rng.randrange(1, 40)):
                data[rng.randrange(scan + 12, len(data))] = rng.randrange(256)
            if not _decodes(bytes(data)):
                return BadFrame("corrupted_jpeg", {"frame_id": next(ids), "image": bytes(data)},
                                one({"decode_failed"}), True)

    def jpeg_magic_then_garbage() -> BadFrame:
        data = b"\xff\xd8\xff" + rng.randbytes(rng.randrange(0, 4000))
        return BadFrame("jpeg_magic_garbage", {"frame_id": next(ids), "image": data},
                        one({"not_jpeg", "decode_failed"}), True)

    def random_bytes() -> BadFrame:
        data = b"\x00" + rng.randbytes(rng.randrange(1, 20000))
        return BadFrame("random_bytes", {"frame_id": next(ids), "image": data}, one({"not_jpeg"}))

    def other_image_format() -> BadFrame:
        return BadFrame("other_format", {"frame_id": next(ids), "image": rng.choice(formats)}, one({"not_jpeg"}))

    def empty() -> BadFrame:
        return BadFrame("empty_image", {"frame_id": next(ids), "image": rng.choice([b"", bytearray()])},
                        one({"empty_image"}))

    def too_many_bytes() -> BadFrame:
        data = jpeg + bytes(max_frame_bytes + 1 - len(jpeg) + rng.randrange(0, 1000))
        return BadFrame("over_byte_limit", {"frame_id": next(ids), "image": data}, one({"frame_too_large"}))

    def huge_dimensions() -> BadFrame:
        w, h = rng.choice([(65535, 65535), (20000, 20000), (65535, 40), (8000, 8000), (4000, 4000)])
        return BadFrame("huge_dimensions", {"frame_id": next(ids), "image": huge_header(jpeg, w, h)},
                        one({"image_too_large"}))

    def wrong_types() -> BadFrame:
        choice = rng.randrange(4)
        if choice == 0:
            return BadFrame("payload_type", rng.choice([[1, 2], "frame", 42, None, 3.5, True]),
                            one({"invalid_payload"}))
        if choice == 1:
            return BadFrame("frame_id_type", {"frame_id": rng.choice(["7", 7.5, None, True, [1], {"a": 1}]),
                                              "image": jpeg}, one({"invalid_frame_id"}))
        if choice == 2:
            return BadFrame("image_type", {"frame_id": next(ids), "image": rng.choice(
                ["/9j/4AAQSkZJRgABAQ", 12345, [255, 216], {"data": "x"}, 1.5, True])}, one({"invalid_image_type"}))
        return BadFrame("frame_id_range", {"frame_id": rng.choice([-1, -(2**31), 2**53, 2**63]), "image": jpeg},
                        one({"invalid_frame_id"}))

    def missing_or_extra_fields() -> BadFrame:
        choice = rng.randrange(4)
        if choice == 0:
            return BadFrame("missing_frame_id", {"image": jpeg}, one({"invalid_frame_id"}))
        if choice == 1:
            return BadFrame("missing_image", {"frame_id": next(ids)}, one({"missing_image"}))
        if choice == 2:
            return BadFrame("null_image", {"frame_id": next(ids), "image": None}, one({"missing_image"}))
        # Extra fields are ignored, so the frame is judged by its (bad) image.
        return BadFrame("extra_fields", {"frame_id": next(ids), "image": rng.choice(formats), "sent_at": "soon",
                                         "extra": {"nested": [1, 2, 3]}, "width": 10**9}, one({"not_jpeg"}))

    def repeated_id() -> list[BadFrame]:
        fid = next(ids)
        data = bytes(jpeg[:len(jpeg) // 2])  # reaches the detector, so it is in flight for a while
        return [BadFrame("repeated_id_first", {"frame_id": fid, "image": data}, one({"decode_failed"}), True),
                BadFrame("repeated_id", {"frame_id": fid, "image": data}, one({"duplicate_frame_id"}))]

    kinds = [(truncated, 4), (corrupted, 3), (jpeg_magic_then_garbage, 2), (random_bytes, 4),
             (other_image_format, 4), (empty, 2), (too_many_bytes, 1), (huge_dimensions, 3), (wrong_types, 6),
             (missing_or_extra_fields, 5)]
    makers = [maker for maker, weight in kinds for _ in range(weight)] * (count // 35 + 1)  # every kind appears
    rng.shuffle(makers)
    made = 0
    for maker in makers:
        if made >= count:
            return
        yield maker()
        made += 1
        if made % 50 == 0 and made < count:
            for frame in repeated_id():
                yield frame
                made += 1
