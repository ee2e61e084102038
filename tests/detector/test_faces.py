"""Face detection and cropping on real images: the astronaut photo and FER-2013 faces."""
import numpy as np
import pytest

from sentivis.protocol import Box
from sentivis.stages.detect import DecodeError, FaceDetector, clip_box, crop_face, crop_faces, decode
from toolkit import samples
from toolkit.samples import ASTRONAUT_FACE, PASTED, astronaut, compose, fer_faces, huge_header_jpeg, iou, jpeg


@pytest.fixture(scope="module")
def detector():
    d = FaceDetector(model_selection=0, min_score=0.5, max_faces=10)
    yield d
    d.close()


def pasted_frame() -> tuple[np.ndarray, list[dict]]:
    data, places = samples.pasted_frame()
    return decode(data), places


def test_decode_jpeg_gives_rgb():
    frame = np.zeros((240, 320, 3), np.uint8)
    frame[:, :, 0] = 200  # pure red: checks the channel order, not just the shape
    rgb = decode(jpeg(frame, quality=95))
    assert rgb.shape == (240, 320, 3) and rgb.dtype == np.uint8
    assert abs(int(rgb[120, 160, 0]) - 200) <= 3 and rgb[120, 160, 2] <= 3


@pytest.mark.parametrize("data", [b"", b"not a jpeg", b"\xff\xd8\xff\xe0" + b"\x00" * 40,
                                  jpeg(np.zeros((8, 8, 3), np.uint8))[:30]])
def test_decode_jpeg_rejects_garbage(data):
    with pytest.raises(DecodeError):
        decode(data)


def test_decode_jpeg_refuses_a_forged_huge_header():
    with pytest.raises(DecodeError, match="pixels"):
        decode(huge_header_jpeg(), max_pixels=1920 * 1200)


def test_astronaut_face(detector):
    found = detector.detect(astronaut())
    assert len(found) == 1
    assert found[0].score > 0.8
    assert iou(found[0].box, ASTRONAUT_FACE) > 0.6


def test_fer_faces_pasted_at_known_places(detector):
    rgb, places = pasted_frame()
    found = detector.detect(rgb)
    assert len(found) == len(places)
    for place in places:
        best = max(found, key=lambda d: iou(d.box, place))
        assert iou(best.box, place) > 0.5, (place, [d.box for d in found])
    assert [d.score for d in found] == sorted((d.score for d in found), reverse=True)


def test_max_faces_keeps_the_best(detector):
    rgb, _ = pasted_frame()
    all_scores = [d.score for d in detector.detect(rgb)]
    two = FaceDetector(model_selection=0, min_score=0.5, max_faces=2)
    try:
        found = two.detect(rgb)
    finally:
        two.close()
    assert len(all_scores) == 3
    assert [d.score for d in found] == pytest.approx(all_scores[:2])


def test_blank_frame_has_no_face(detector):
    assert detector.detect(np.full((240, 320, 3), 128, np.uint8)) == []


def test_full_range_model_finds_the_astronaut():
    full = FaceDetector(model_selection=1, min_score=0.5)
    try:
        found = full.detect(astronaut())
    finally:
        full.close()
    assert full.name == "mediapipe-blazeface-full-range"
    assert len(found) == 1 and iou(found[0].box, ASTRONAUT_FACE) > 0.5


def test_unknown_model_selection_is_refused():
    with pytest.raises(ValueError, match="model_selection"):
        FaceDetector(model_selection=2)


def test_crops_are_48x48_uint8_and_look_like_the_fer_faces(detector):
    rgb, places = pasted_frame()
    found = detector.detect(rgb)
    crops = crop_faces(rgb, found, margin=0.1, shift=0.1)
    assert len(crops) == len(found)
    assert all(c.shape == (48, 48) and c.dtype == np.uint8 for c in crops)
    faces, _ = fer_faces(64)
    for index, x, y, side in PASTED:
        place = {"x": x, "y": y, "width": side, "height": side}
        crop = crops[max(range(len(found)), key=lambda k: iou(found[k].box, place))]
        corr = np.corrcoef(crop.ravel().astype(float), faces[index].ravel().astype(float))[0, 1]
        assert corr > 0.6, (index, corr)  # the same face, framed alike (a misplaced crop scores near 0)


def test_clip_box_keeps_boxes_inside_the_frame():
    assert clip_box((-10.4, 5.6, 50, 40), 320, 240) == Box(0, 6, 40, 40)
    assert clip_box((300, 220, 50, 50), 320, 240) == Box(300, 220, 20, 20)
    assert clip_box((330, 10, 20, 20), 320, 240) is None


def test_crop_is_square_around_the_box_centre():
    grey = np.zeros((240, 320), np.uint8)
    grey[100:140, 140:180] = 255  # a bright 40x40 square
    crop = crop_face(grey, (140, 100, 40, 40), margin=0.5)  # 80x80 crop: the square fills the middle half
    assert crop.shape == (48, 48)
    assert crop[12:36, 12:36].min() == 255
    assert crop[:11].max() == 0 and crop[37:].max() == 0 and crop[:, :11].max() == 0 and crop[:, 37:].max() == 0


def test_crop_replicates_edges_outside_the_frame():
    grey = np.tile(np.arange(0, 200, 2, dtype=np.uint8), (60, 1))  # 60x100, brightness grows to the right
    crop = crop_face(grey, (-20, 10, 40, 40), margin=0.0)  # half the box lies left of the frame
    assert crop.shape == (48, 48)
    assert crop[:, :22].max() <= 2  # the left half repeats column 0 (value 0), never garbage
    assert crop[:, 30:].min() > 2 and np.all(np.diff(crop[24, 24:].astype(int)) >= 0)


def test_crop_on_a_real_face_near_the_edge(detector):
    faces, _ = fer_faces(64)
    rgb = decode(jpeg(compose([(faces[22], 0, 150, 90)])))  # touches the left and bottom edges
    found = detector.detect(rgb)
    assert len(found) == 1
    box = found[0].box
    assert box.x >= 0 and box.y >= 0 and box.x + box.width <= 320 and box.y + box.height <= 240
    crop = crop_faces(rgb, found, margin=0.3)[0]
    assert crop.shape == (48, 48) and crop.dtype == np.uint8
    assert crop.std() > 10  # a face, not a replicated smear
