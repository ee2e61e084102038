from sentivis.tracking import FaceTracker, iou
from sentivis.labels import EMOTIONS


def emotion(label: str, p: float = 0.9) -> dict:
    rest = (1 - p) / (len(EMOTIONS) - 1)
    probs = {e: (p if e == label else rest) for e in EMOTIONS}
    return {"label": label, "confidence": p, "probabilities": probs}


def face(x, y, label="happy", size=60, p=0.9):
    return {"box": {"x": x, "y": y, "width": size, "height": size}, "score": 0.9, "emotion": emotion(label, p)}


def test_iou():
    a = {"x": 0, "y": 0, "width": 10, "height": 10}
    assert iou(a, a) == 1
    assert iou(a, {"x": 5, "y": 0, "width": 10, "height": 10}) == 50 / 150
    assert iou(a, {"x": 20, "y": 20, "width": 5, "height": 5}) == 0


def test_ids_stay_with_their_faces_as_they_move():
    tracker = FaceTracker()
    first = tracker.update([face(10, 10), face(200, 50)])
    ids = {f["box"]["x"]: f["id"] for f in first}
    assert len(set(ids.values())) == 2
    # Both move a little, and come back in the other order.
    second = tracker.update([face(206, 54), face(14, 12)])
    assert second[0]["id"] == ids[200] and second[1]["id"] == ids[10]


def test_a_new_face_gets_a_new_id_and_a_lost_one_expires():
    tracker = FaceTracker(max_missed=2)
    [a] = tracker.update([face(10, 10)])
    for _ in range(3):
        tracker.update([])
    [b] = tracker.update([face(10, 10)])
    assert b["id"] != a["id"]


def test_a_face_missing_for_a_few_frames_keeps_its_id():
    tracker = FaceTracker(max_missed=5)
    [a] = tracker.update([face(10, 10)])
    tracker.update([])
    tracker.update([])
    [b] = tracker.update([face(12, 10)])
    assert b["id"] == a["id"]


def test_smoothing_stops_a_one_frame_flicker_and_follows_a_real_change():
    tracker = FaceTracker(alpha=0.35)
    for _ in range(5):
        tracker.update([face(10, 10, "happy")])
    [flicker] = tracker.update([face(10, 10, "sad")])
    assert flicker["emotion"]["label"] == "happy"
    assert flicker["emotion"]["raw"]["label"] == "sad"
    labels = [tracker.update([face(10, 10, "sad")])[0]["emotion"]["label"] for _ in range(5)]
    assert labels[-1] == "sad"
    probs = flicker["emotion"]["probabilities"]
    assert list(probs) == list(EMOTIONS) and abs(sum(probs.values()) - 1) < 1e-3


def test_no_emotion_model_gives_null_emotion_with_stable_ids():
    tracker = FaceTracker()
    f = {"box": {"x": 0, "y": 0, "width": 50, "height": 50}, "score": 0.8, "emotion": None}
    a = tracker.update([f])[0]
    b = tracker.update([f])[0]
    assert a["emotion"] is None and a["id"] == b["id"]
