"""End to end through real processes: browser client -> gateway -> detector -> classifier -> browser."""
import time
from collections import Counter

import numpy as np

from sentivis.labels import EMOTIONS
from tests.support.stack import start_stack
from tests.support.waiting import wait_for
from toolkit.client import FrameClient
from toolkit.processes import get_json
from toolkit.samples import astronaut_frame, iou, jpeg, pasted_frame

BLANK = jpeg(np.full((240, 320, 3), 120, np.uint8))
COUNTED = {"rate_limited", "too_many_in_flight", "overloaded", "expired", "timeout"}  # in dropped_frames


def assert_emotion(face):
    emotion = face["emotion"]
    assert emotion["label"] in EMOTIONS
    assert list(emotion["probabilities"]) == list(EMOTIONS)
    assert abs(sum(emotion["probabilities"].values()) - 1) < 1e-3
    assert emotion["label"] == max(emotion["probabilities"], key=emotion["probabilities"].get)


def test_one_face_is_boxed_and_labelled(stack):
    data, box = astronaut_frame()
    client = FrameClient(stack.url)
    try:
        client.send(1, data, sent_at=time.time() * 1000)
        name, event = client.wait_frame(1, timeout=30)
        assert name == "inference", event
        assert (event["width"], event["height"]) == (320, 240)
        [face] = event["faces"]
        assert iou(face["box"], box) > 0.5, (face["box"], box)
        assert 0.5 <= face["score"] <= 1
        assert_emotion(face)
        assert event["models"]["emotion"]["ready"] is True and event["models"]["emotion"]["version"]
        assert event["models"]["detector"]["ready"] is True
        latency = event["latency"]
        assert set(latency) >= {"server_ms", "queue_ms", "decode_ms", "detect_ms", "classify_ms"}
        assert latency["server_ms"] >= latency["decode_ms"] + latency["detect_ms"] + latency["classify_ms"]
    finally:
        client.close()


def test_several_faces_land_on_their_places_with_stable_ids(stack):
    data, places = pasted_frame()
    client = FrameClient(stack.url)
    try:
        client.send(1, data)
        client.send(2, data)
        _, first = client.wait_frame(1, timeout=30)
        _, second = client.wait_frame(2, timeout=30)
        assert len(first["faces"]) == len(places) == 3
        for place in places:
            best = max(first["faces"], key=lambda f: iou(f["box"], place))
            assert iou(best["box"], place) > 0.5, (place, first["faces"])
            assert_emotion(best)
        assert len({f["id"] for f in first["faces"]}) == 3
        by_place = lambda ev: sorted((f["box"]["x"] // 40, f["id"]) for f in ev["faces"])  # noqa: E731
        assert by_place(first) == by_place(second), "ids stay with their faces across frames"
    finally:
        client.close()


def test_no_face_and_two_clients_get_only_their_own_results(stack):
    astro, _ = astronaut_frame()
    a, b = FrameClient(stack.url), FrameClient(stack.url)
    try:
        for fid in range(6):
            a.send(fid, BLANK)
            b.send(100 + fid, astro)
            a.wait_frame(fid, timeout=30)
            b.wait_frame(100 + fid, timeout=30)
        assert {p["frame_id"] for _, p in a.events} == set(range(6))
        assert {p["frame_id"] for _, p in b.events} == set(range(100, 106))
        assert all(n == "inference" and p["faces"] == [] for n, p in a.events)
        assert all(n == "inference" and len(p["faces"]) == 1 for n, p in b.events)
    finally:
        a.close()
        b.close()


def test_bad_input_and_a_flood_leave_the_services_and_other_clients_working(stack):
    astro, _ = astronaut_frame()
    good, bad = FrameClient(stack.url), FrameClient(stack.url)
    try:
        bad.send(1, astro[: len(astro) // 3])  # truncated: passes the header check, fails to decode
        bad.send(2, b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4)  # a JPEG marker, then no readable header
        assert bad.wait_frame(1, timeout=30)[1]["code"] == "decode_failed"  # refused by the detector
        assert bad.wait_frame(2, timeout=30)[1]["code"] == "not_jpeg"  # refused by the gateway's header check
        # A flood: 300 frames as fast as the socket takes them; at most 2 are in flight at a time.
        for fid in range(10, 310):
            bad.send(fid, astro)
        for fid in range(5):
            good.send(fid, astro)
            assert good.wait_frame(fid, timeout=30)[0] == "inference"
        bad.wait(lambda ev: len(ev) >= 302, timeout=60)
        codes = [p.get("code") for _, p in bad.events[2:]]
        # Dropped before any work: the in-flight cap, the rate limit or admission (overloaded).
        assert sum(codes.count(c) for c in ("too_many_in_flight", "rate_limited", "overloaded")) >= 200, codes
        # Every drop is counted: the first frame answered once the flood's answers are all in (sent again
        # while the rate limit still refuses it) reports each of them in dropped_frames.
        retries = iter(range(1000, 2000))

        def inference_after_the_flood() -> dict | None:
            frame_id = next(retries)
            bad.send(frame_id, astro)
            name, event = bad.wait_frame(frame_id, timeout=30)
            return event if name == "inference" else None

        after = wait_for(inference_after_the_flood, "an inference after the flood", 30, interval=0.2)
        counted = [p["code"] for n, p in bad.events if n == "frame_error" and p["code"] in COUNTED]
        assert after["dropped_frames"] == len(counted) >= 200, (after["dropped_frames"], Counter(counted))
        assert all(s.alive() for s in stack.processes.values()), stack.logs()
        assert get_json(stack.url + "/readyz")[0] == 200
    finally:
        good.close()
        bad.close()


def test_without_a_model_faces_come_back_with_null_emotion(redis_url, tmp_path):
    stack = start_stack(redis_url, tmp_path, SENTIVIS_EMOTION_WEIGHTS=str(tmp_path / "no-model.onnx"))
    client = FrameClient(stack.url)
    try:
        data, _ = astronaut_frame()
        client.send(1, data)
        name, event = client.wait_frame(1, timeout=30)
        assert name == "inference"
        [face] = event["faces"]
        assert face["emotion"] is None
        assert event["models"]["emotion"]["ready"] is False
    finally:
        client.close()
        stack.stop()
