import numpy as np
import pytest

from gateway.frame_checks import FrameRejected, validate_frame
from sentivis.settings import Settings
from toolkit.samples import huge_header_jpeg, jpeg

SETTINGS = Settings(max_frame_bytes=200_000, max_frame_pixels=1920 * 1200)
GOOD = jpeg(np.full((240, 320, 3), 90, np.uint8))


def code_of(payload) -> str:
    with pytest.raises(FrameRejected) as info:
        validate_frame(payload, SETTINGS)
    return info.value.code


def test_accepts_a_jpeg_and_reads_its_size_from_the_header():
    frame = validate_frame({"frame_id": 7, "image": GOOD, "sent_at": 123.0}, SETTINGS)  # extra keys are ignored
    assert (frame.frame_id, frame.width, frame.height) == (7, 320, 240)
    assert frame.jpeg == GOOD


@pytest.mark.parametrize("payload, code", [
    ("not a dict", "invalid_payload"),
    (None, "invalid_payload"),
    ([1, 2], "invalid_payload"),
    ({"image": GOOD}, "invalid_frame_id"),
    ({"frame_id": -1, "image": GOOD}, "invalid_frame_id"),
    ({"frame_id": "3", "image": GOOD}, "invalid_frame_id"),
    ({"frame_id": 1.5, "image": GOOD}, "invalid_frame_id"),
    ({"frame_id": True, "image": GOOD}, "invalid_frame_id"),
    ({"frame_id": 1}, "missing_image"),
    ({"frame_id": 1, "image": "aGVsbG8="}, "invalid_image_type"),
    ({"frame_id": 1, "image": 12}, "invalid_image_type"),
    ({"frame_id": 1, "image": b""}, "empty_image"),
    ({"frame_id": 1, "image": b"\x89PNG\r\n\x1a\n" + b"0" * 100}, "not_jpeg"),
    ({"frame_id": 1, "image": bytes(range(256))}, "not_jpeg"),
    ({"frame_id": 1, "image": b"\xff\xd8\xff"}, "not_jpeg"),
    ({"frame_id": 1, "image": b"\xff" * 300_000}, "frame_too_large"),
    ({"frame_id": 1, "image": huge_header_jpeg()}, "image_too_large"),
    # Past libjpeg-turbo's 65,500-pixel side: still too large, not "not a JPEG".
    ({"frame_id": 1, "image": huge_header_jpeg(65535, 65535)}, "image_too_large"),
    ({"frame_id": 1, "image": huge_header_jpeg(65535, 40)}, "image_too_large"),
])
def test_rejects_bad_frames_with_a_specific_code(payload, code):
    assert code_of(payload) == code


def test_rejection_keeps_the_frame_id_when_it_is_valid():
    with pytest.raises(FrameRejected) as info:
        validate_frame({"frame_id": 42, "image": b"not a jpeg"}, SETTINGS)
    assert info.value.frame_id == 42 and info.value.message


def test_a_truncated_jpeg_passes_the_header_check_and_is_left_to_the_decoder():
    # The gateway never decodes; the detector reports decode_failed for the truncated body.
    frame = validate_frame({"frame_id": 1, "image": GOOD[: len(GOOD) // 2]}, SETTINGS)
    assert frame.width == 320
