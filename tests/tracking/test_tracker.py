"""PersonTracker, its smoothing and the appearance cue, on synthetic faces."""
from __future__ import annotations

import msgpack
import msgspec
import numpy as np
import pytest

from sentivis.labels import EMOTIONS
from sentivis.protocol import APPEARANCE_DTYPE, Box, Emotion, Face, FrameMessage, TrackedFace, decode, encode
from sentivis.settings import Settings, SettingsError, settings_from_env
from sentivis.tracking.appearance import appearance, appearance_bytes
from sentivis.tracking.config import TrackerConfig
from sentivis.tracking.smoothing import EmotionSmoother
from sentivis.tracking.tracker import PersonTracker

RNG = np.random.default_rng(7)
LOOKS = [RNG.standard_normal(64).astype(np.float32) for _ in range(3)]


def emotion(label: str, p: float = 0.9) -> Emotion:
    rest = (1 - p) / (len(EMOTIONS) - 1)
    return Emotion(label, p, {e: (p if e == label else rest) for e in EMOTIONS})


def face(x, y, size=60, label="happy", look=None, p=0.9) -> Face:
    return Face(Box(x, y, size, size), 0.9, emotion(label, p),
                None if look is None else LOOKS[look].astype(APPEARANCE_DTYPE).tobytes())


def test_output_keeps_the_face_shape_and_order():
    tracker = PersonTracker()
    out = tracker.update([face(10, 10, look=0), face(200, 50, look=1)], timestamp_ms=0)
    assert [o.box.x for o in out] == [10, 200]
    assert len({o.id for o in out}) == 2
    for o in out:
        assert isinstance(o, TrackedFace) and o.score == 0.9
        e = o.emotion
        assert e.label == "happy" and list(e.probabilities) == list(EMOTIONS)
        assert e.raw == emotion("happy")


def test_ids_follow_moving_faces_with_or_without_appearance():
    for look in (0, None):
        tracker = PersonTracker()
        first = tracker.update([face(10, 10, look=look), face(200, 50, look=None if look is None else 1)])
        ids = [f.id for f in first]
        for step in range(1, 20):
            out = tracker.update([face(200 - 3 * step, 50, look=None if look is None else 1),
                                  face(10 + 3 * step, 10, look=look)])
            assert [f.id for f in out] == ids[::-1]


def test_no_emotion_model_gives_null_emotion_with_stable_ids():
    tracker = PersonTracker()
    f = Face(Box(0, 0, 50, 50), 0.8)
    a, b = tracker.update([f])[0], tracker.update([f])[0]
    assert a.emotion is None and b.emotion is None and a.id == b.id


NAN_LOOK = np.full(64, np.nan, APPEARANCE_DTYPE).tobytes()


@pytest.mark.parametrize("bad, message", [
    (Face(Box(0, 0, 0, 10), 0.9), "positive"),
    (Face(Box(0, 0, 5, 5), 0.9, Emotion("happy", 0.9, {"happy": 0.9})), "probability for each"),
    (Face(Box(0, 0, 5, 5), 0.9, Emotion("happy", 0.9, {e: float("nan") for e in EMOTIONS})), "finite"),
    (Face(Box(0, 0, 5, 5), 0.9, appearance=NAN_LOOK), "appearance"),
    (Face(Box(0, 0, 5, 5), 0.9, appearance=b""), "appearance"),
])
def test_a_face_the_tracker_cannot_use_is_refused_and_changes_nothing(bad, message):
    tracker = PersonTracker()
    with pytest.raises(ValueError, match=message):
        tracker.update([face(10, 10), bad])
    assert tracker.remembered == 0
    assert tracker.update([face(10, 10)])[0].id == 1  # no id was spent on the refused frame


def test_a_bad_timestamp_is_refused():
    tracker = PersonTracker()
    for bad in (float("nan"), "12", True):
        with pytest.raises(ValueError, match="timestamp_ms"):
            tracker.update([face(10, 10)], timestamp_ms=bad)
    assert tracker.remembered == 0


def absent_then_back(absence_s: float, fps: float, look_back: int = 0) -> tuple[int, int]:
    """A face seen for 1 s, absent `absence_s` (frames still arriving at `fps`), back elsewhere."""
    tracker = PersonTracker()
    t, first = 0.0, None
    for _ in range(int(fps)):
        [f] = tracker.update([face(20, 20, look=0)], timestamp_ms=t)
        first = f.id
        t += 1000 / fps
    end = t + absence_s * 1000
    while t < end:
        tracker.update([], timestamp_ms=t)
        t += 1000 / fps
    [back] = tracker.update([face(220, 120, look=look_back)], timestamp_ms=t)
    return first, back.id


@pytest.mark.parametrize("fps", [5, 15, 30])
def test_absence_is_measured_in_seconds_whatever_the_frame_rate(fps):
    first, back = absent_then_back(1.8, fps)
    assert back == first  # within max_absence_s (2 s): the same person, by appearance
    first, back = absent_then_back(2.6, fps)
    assert back != first  # past it: forgotten


@pytest.mark.parametrize("pause_s, same", [(1.8, True), (2.6, False), (30.0, False)])
def test_a_pause_in_the_frames_counts_as_absence(pause_s, same):
    """No frame at all for `pause_s` (a stream paused, a camera stalled), then the face again
    elsewhere: within max_absence_s (2 s) the same person, past it a new one."""
    tracker = PersonTracker()
    for i in range(15):
        [seen] = tracker.update([face(20, 20, look=0)], timestamp_ms=i * 1000 / 15)
    [back] = tracker.update([face(220, 120, look=0)], timestamp_ms=14 * 1000 / 15 + pause_s * 1000)
    assert (back.id == seen.id) == same, (seen.id, back.id)


def test_someone_else_coming_in_is_a_new_person():
    first, back = absent_then_back(0.5, 15, look_back=1)
    assert back != first


def test_memory_stays_bounded_over_a_long_session():
    config = TrackerConfig(max_people=16)
    tracker = PersonTracker(config)
    rng = np.random.default_rng(3)
    most, arrivals = 0, 0
    live: list[tuple[float, float, np.ndarray, int]] = []  # x, y, look, frames left
    for frame in range(10_000):
        if rng.random() < 0.3:  # people keep arriving, each staying a few frames
            arrivals += 1
            live.append((rng.uniform(0, 260), rng.uniform(0, 180), rng.standard_normal(64), int(rng.integers(1, 30))))
        live = [(x + rng.normal(0, 2), y + rng.normal(0, 2), a, n - 1) for x, y, a, n in live if n > 0][:6]
        faces = [Face(Box(round(x), round(y), 60, 60), 0.9, emotion("sad"), a.astype(APPEARANCE_DTYPE).tobytes())
                 for x, y, a, _ in live]
        out = tracker.update(faces, timestamp_ms=frame * 66.7)
        assert len(out) == len(faces)
        most = max(most, tracker.remembered)
        assert tracker.remembered <= config.max_people + len(faces)
    assert arrivals > 2500 and out[-1].id > 500  # thousands of people went through
    assert most <= config.max_people + 6


def test_smoothing_ignores_a_one_frame_flicker_and_follows_a_real_change():
    smoother = EmotionSmoother(smoothing_s=0.155, hysteresis=0.1)
    for _ in range(5):
        smoother.update(emotion("happy"), 1 / 15)
    flicker = smoother.update(emotion("sad"), 1 / 15)
    assert flicker.label == "happy" and flicker.raw.label == "sad"
    labels = [smoother.update(emotion("sad"), 1 / 15).label for _ in range(4)]
    assert labels[-1] == "sad"
    assert abs(sum(flicker.probabilities.values()) - 1) < 1e-3


def test_hysteresis_holds_a_label_against_a_close_second():
    shown = []
    for hysteresis in (0.0, 0.1):
        smoother = EmotionSmoother(smoothing_s=0.0, hysteresis=hysteresis)
        labels = []
        for i in range(20):  # two emotions trading a narrow lead every frame
            lead, second = ("sad", "neutral") if i % 2 else ("neutral", "sad")
            probs = {e: 0.0 for e in EMOTIONS} | {lead: 0.52, second: 0.48}
            labels.append(smoother.update(Emotion(lead, 0.52, probs), 1 / 15).label)
        shown.append(sum(a != b for a, b in zip(labels, labels[1:], strict=False)))
    assert shown[0] == 19 and shown[1] == 0


def test_smoothing_is_by_time_not_by_frames():
    slow, fast = EmotionSmoother(0.155, 0.0), EmotionSmoother(0.155, 0.0)
    for s in (slow, fast):
        s.update(emotion("happy"), 0.0)
    a = slow.update(emotion("sad"), 2 / 15)  # one frame after 2 ticks...
    for _ in range(2):
        b = fast.update(emotion("sad"), 1 / 15)  # ...or two frames one tick apart
    assert a.probabilities["sad"] == pytest.approx(b.probabilities["sad"], abs=1e-3)


def test_appearance_of_a_crop():
    crop = RNG.integers(0, 256, (48, 48), dtype=np.uint8)
    vector = appearance(crop)
    assert vector.shape == (64,) and vector.dtype == np.float32
    assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-5)
    brighter = np.clip(crop.astype(int) + 30, 0, 255).astype(np.uint8)
    other = RNG.integers(0, 256, (48, 48), dtype=np.uint8)
    assert float(vector @ appearance(brighter)) > 0.95 > float(vector @ appearance(other))
    assert not np.any(appearance(np.full((48, 48), 77, np.uint8)))  # a flat crop has no look


@pytest.mark.parametrize("bad", [np.zeros((48, 48), np.float32), np.zeros((40, 48), np.uint8), [[0] * 48] * 48])
def test_appearance_refuses_anything_but_a_crop(bad):
    with pytest.raises(ValueError, match="uint8"):
        appearance(bad)


@pytest.mark.parametrize("field, value", [("fps", 0), ("max_coast_s", -1), ("max_absence_s", 0.5),
                                          ("min_iou", 0), ("reid_distance", 2), ("max_people", 0),
                                          ("hysteresis", 1), ("smoothing_s", float("nan"))])
def test_config_out_of_range_is_refused(field, value):
    with pytest.raises(ValueError, match=field):
        TrackerConfig(**{field: value})


def test_a_face_coming_out_from_behind_another_is_checked_once_uncovered():
    """Person 0 walks behind person 2 and stays hidden; someone else (look 1) comes out. Covered,
    the newcomer is taken for person 0; uncovered, it is not them: a new id, and person 0 can still
    come back with theirs."""
    tracker = PersonTracker()
    t = 0.0

    def frame(*faces):
        nonlocal t
        t += 1000 / 15
        return tracker.update(list(faces), timestamp_ms=t)

    for step in range(10):  # person 0 walks up to the front face and starts going behind it
        hidden, front = frame(face(40 + 10 * step, 100, look=0), face(150, 100, look=2))
    for _ in range(20):  # person 0 is behind the front face: not detected
        frame(face(150, 100, look=2))
    covered = frame(face(150, 100, look=2), face(185, 100, look=1))[1]  # overlaps the front face
    assert covered.id == hidden.id
    out = frame(face(150, 100, look=2), face(240, 100, look=1))[1]  # clear of it
    assert out.id not in (hidden.id, front.id)
    back = frame(face(150, 100, look=2), face(240, 100, look=1), face(60, 100, look=0))
    assert [f.id for f in back] == [front.id, out.id, hidden.id]


def test_config_from_the_settings():
    assert TrackerConfig.from_settings(Settings()) == TrackerConfig()  # the settings' defaults are the chosen ones
    config = TrackerConfig.from_settings(settings_from_env({
        "SENTIVIS_TRACK_MAX_ABSENCE_S": "0.5", "SENTIVIS_TRACK_MAX_PEOPLE": "4", "SENTIVIS_SMOOTHING_S": "0",
        "SENTIVIS_LABEL_HYSTERESIS": "0.2"}), fps=60)
    assert (config.max_absence_s, config.max_coast_s, config.max_people, config.smoothing_s, config.hysteresis,
            config.fps) == (0.5, 0.5, 4, 0.0, 0.2, 60)  # no face coasts longer than it is remembered


@pytest.mark.parametrize("variable, value", [("TRACK_MAX_ABSENCE_S", "-1"), ("TRACK_MAX_PEOPLE", "0"),
                                             ("SMOOTHING_S", "inf"), ("LABEL_HYSTERESIS", "1.5")])
def test_a_setting_out_of_range_is_named(variable, value):
    with pytest.raises(SettingsError, match=f"SENTIVIS_{variable}={value}"):
        TrackerConfig.from_settings(settings_from_env({f"SENTIVIS_{variable}": value}))


def test_appearance_as_a_result_message_carries_it():
    """float16 on the wire, float16 numbers after decode: the tracker tells people apart with them."""
    crops = [RNG.integers(0, 256, (48, 48), dtype=np.uint8) for _ in range(2)]
    message = FrameMessage("g", "s", 1, 0.0, faces=[msgspec.structs.replace(face(10 + 150 * i, 10),
                                                                            appearance=appearance_bytes(c))
                                                    for i, c in enumerate(crops)])
    fields = encode(message)
    decoded, _ = decode({k.encode(): v for k, v in fields.items()})
    vectors = [f.appearance_vector() for f in decoded.faces]
    assert all(v.dtype == APPEARANCE_DTYPE and v.shape == (64,) for v in vectors)
    np.testing.assert_allclose(vectors[0], appearance(crops[0]), atol=1e-3)
    tracker = PersonTracker()
    first = tracker.update(decoded.faces, timestamp_ms=0)
    swapped = [msgspec.structs.replace(f, box=other.box)
               for f, other in zip(decoded.faces, decoded.faces[::-1], strict=True)]
    tracker.update([], timestamp_ms=1500)  # both out of view for longer than motion predicts them
    back = tracker.update(swapped, timestamp_ms=1600)  # each back where the other was: known by their look
    assert [f.id for f in back] == [f.id for f in first]


@pytest.mark.parametrize("change, message", [
    (lambda f: f.update(appearance=b"\x00" * 127), "float16"),
    (lambda f: f.pop("box"), "box"),
    (lambda f: f["box"].update(x="0"), "int"),
    (lambda f: f["box"].update(width=-5), ">= 0"),
    (lambda f: f.update(score="high"), "float"),
    (lambda f: f.update(emotion={"label": "happy"}), "confidence"),
])
def test_a_malformed_result_is_refused_when_decoded(change, message):
    """The types are checked once, where a message enters a process (protocol.decode)."""
    fields = {k.encode(): v for k, v in encode(FrameMessage("g", "s", 1, 0.0, faces=[face(10, 10)])).items()}
    meta = msgpack.unpackb(fields[b"meta"])
    change(meta["faces"][0])
    with pytest.raises(ValueError, match=message):
        decode({b"meta": msgpack.packb(meta, use_bin_type=True)})
