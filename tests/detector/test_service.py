"""`python -m detector` as a real process against a real Redis, with this test playing the gateway."""
from __future__ import annotations

import time

import msgspec
import numpy as np
import pytest
import redis

from sentivis import redis_io, streams
from sentivis.protocol import Box, DetectorInfo, FrameMessage, Stamps, decode, unpack_crops
from tests.support.waiting import wait_for
from toolkit.processes import Service, free_port, redis_server, wait_redis
from toolkit.samples import astronaut_frame, iou, jpeg, pasted_frame

GATEWAY = "gw-test"
RESULTS = streams.results_stream(GATEWAY)
BLANK = jpeg(np.full((240, 320, 3), 128, np.uint8))
NOT_JPEG = b"SECRET-PAYLOAD-" * 20
# Frames older than this are dropped as expired. Generous, so that a busy test machine never
# expires a frame meant to be processed; the expired one is sent far older than this.
MAX_FRAME_AGE_MS = "30000"
EXPIRED_AGE_S = 300.0


def pasted_jpeg() -> bytes:
    return pasted_frame()[0]


def start_detector(redis_url: str, tmp_path, wait: bool = True, **env: str) -> Service:
    service = Service("detector", {"SENTIVIS_REDIS_URL": redis_url, "SENTIVIS_HEARTBEAT_S": "0.3",
                                   "SENTIVIS_MAX_FRAME_AGE_MS": MAX_FRAME_AGE_MS, **env}, tmp_path).start()
    if wait:
        wait_heartbeat(redis.Redis.from_url(redis_url), service)
    return service


def wait_heartbeat(client: redis.Redis, service: Service, timeout: float = 30.0, check=lambda beat: True) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert service.alive(), service.log()
        try:
            beats = [b for b in redis_io.live_services(client, "detector") if check(b)]
        except redis.ConnectionError:
            beats = []
        if beats:
            return beats[0]
        time.sleep(0.1)
    raise AssertionError(f"no detector heartbeat within {timeout} s\n{service.log()}")


def send_frame(client: redis.Redis, frame_id: int, data: bytes, age_s: float = 0.0) -> None:
    now = time.time()
    message = FrameMessage(gateway=GATEWAY, sid="sid-1", frame_id=frame_id, received_at=now - age_s,
                           width=320, height=240, stamps=Stamps(enqueued_at=now))
    redis_io.add(client, streams.FRAMES, message, data, maxlen=1000)


def wait_entries(client: redis.Redis, stream: str, count: int,
                 timeout: float = 20.0) -> list[tuple[FrameMessage, bytes]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        entries = client.xrange(stream)
        if len(entries) >= count:
            return [decode(fields) for _, fields in entries]
        time.sleep(0.05)
    raise AssertionError(f"{stream} has {client.xlen(stream)} entries, expected {count}")


def retries(service: Service) -> int:
    """How often the service found Redis unreachable and is to try again (sentivis/worker.py logs each)."""
    return service.log().count("; retrying in ")


def pending(client: redis.Redis) -> int:
    return client.xpending(streams.FRAMES, streams.DETECTOR_GROUP)["pending"]


@pytest.fixture
def client(redis_url):
    c = redis.Redis.from_url(redis_url)
    # The gateway owns its result stream; the detector never creates it (a gone gateway stays gone).
    c.xgroup_create(RESULTS, "test", id="$", mkstream=True)
    yield c
    c.close()


@pytest.fixture
def detector(redis_url, client, tmp_path):
    service = start_detector(redis_url, tmp_path)
    yield service
    service.stop()


def test_frames_with_faces_go_to_the_faces_stream(client, detector):
    astro, astro_box = astronaut_frame()
    send_frame(client, 1, astro)
    send_frame(client, 2, pasted_jpeg())
    (first, crops1), (second, crops2) = wait_entries(client, streams.FACES, 2)

    assert (first.frame_id, second.frame_id) == (1, 2)
    assert len(first.faces) == 1 and iou(first.faces[0].box, astro_box) > 0.6
    assert len(second.faces) == 3
    for face in second.faces:
        assert isinstance(face.box, Box) and face.emotion is None and face.appearance is None
        assert all(isinstance(v, int) for v in msgspec.structs.astuple(face.box)) and 0.5 <= face.score <= 1
    for message, data in ((first, crops1), (second, crops2)):
        crops = unpack_crops(data, len(message.faces))
        assert crops.shape == (len(message.faces), 48, 48) and crops.std() > 10
        assert message.error is None and (message.width, message.height) == (320, 240)
        assert message.stamps.enqueued_at <= message.stamps.detector_start <= message.stamps.decode_done \
            <= message.stamps.detect_done
        assert message.models.detector == DetectorInfo(True, "mediapipe-blazeface-short-range", 0.5)
    assert client.xlen(RESULTS) == 0
    assert pending(client) == 0

    beat = wait_heartbeat(client, detector, check=lambda b: b["processed"] >= 2)
    assert beat["service"] == "detector" and beat["ready"] is True and beat["pid"] == detector.proc.pid
    assert beat["model"]["name"] == "mediapipe-blazeface-short-range"

    detector.stop()  # SIGTERM: a clean exit that removes its heartbeat
    assert detector.proc.returncode == 0, detector.log()
    assert redis_io.live_services(client, "detector") == []


def test_frame_without_a_face_goes_to_the_results_stream(client, detector):
    send_frame(client, 7, BLANK)
    [(message, data)] = wait_entries(client, RESULTS, 1)
    assert message.frame_id == 7 and message.faces == [] and message.error is None and data == b""
    assert message.stamps.detect_done is not None and message.models.detector.ready is True
    assert client.xlen(streams.FACES) == 0
    assert pending(client) == 0


def test_expired_bad_and_malformed_frames_do_not_stop_the_service(client, detector):
    send_frame(client, 1, pasted_jpeg(), age_s=EXPIRED_AGE_S)  # older than max_frame_age_ms: dropped, never processed
    send_frame(client, 2, NOT_JPEG)
    send_frame(client, 3, b"\xff\xd8\xff\xe0 truncated")
    client.xadd(streams.FRAMES, {"meta": b"\xc1 not msgpack", "data": b""})  # malformed: acked and skipped
    client.xadd(streams.FRAMES, {"something": b"else"})
    send_frame(client, 4, pasted_jpeg())  # the service is still working after all that

    [(faces, _)] = wait_entries(client, streams.FACES, 1)
    assert faces.frame_id == 4 and len(faces.faces) == 3
    results = {m.frame_id: m for m, _ in wait_entries(client, RESULTS, 3)}
    assert {fid: m.error for fid, m in results.items()} == {1: "expired", 2: "decode_failed", 3: "decode_failed"}
    assert results[1].faces == [] and results[1].stamps.decode_done is None
    deadline = time.monotonic() + 10
    while pending(client) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pending(client) == 0
    assert detector.alive()
    assert "SECRET-PAYLOAD" not in detector.log()  # logs never carry image data
    beat = wait_heartbeat(client, detector, check=lambda b: b["processed"] >= 1)
    assert beat["expired"] == 1 and beat["failed"] == 4


def test_a_second_consumer_claims_what_a_dead_one_left_pending(redis_url, client, tmp_path):
    redis_io.ensure_group(client, streams.FRAMES, streams.DETECTOR_GROUP)
    send_frame(client, 9, pasted_jpeg())
    # A consumer that reads the frame and dies before acknowledging it.
    taken = client.xreadgroup(streams.DETECTOR_GROUP, "dead-detector", {streams.FRAMES: ">"}, count=10)
    assert len(taken[0][1]) == 1 and pending(client) == 1

    service = start_detector(redis_url, tmp_path, SENTIVIS_CLAIM_IDLE_MS="300")
    try:
        [(message, _)] = wait_entries(client, streams.FACES, 1)
        assert message.frame_id == 9 and len(message.faces) == 3
        assert pending(client) == 0
    finally:
        service.stop()


def test_survives_redis_going_away_and_coming_back_empty(tmp_path):
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"

    def start_redis():
        server = redis_server(port, tmp_path).start()
        wait_redis(url, process=server)
        redis.Redis.from_url(url).xgroup_create(RESULTS, "test", id="$", mkstream=True)
        return server

    service = start_detector(url, tmp_path, wait=False)  # no Redis yet: it must wait, not crash
    server = None
    try:
        # it finds no Redis and tries again, more than once: waiting, not on its way out
        wait_for(lambda: retries(service) >= 2 or not service.alive(), "the detector retrying without Redis", 60)
        assert service.alive(), service.log()
        server = start_redis()
        c = redis.Redis.from_url(url)
        wait_heartbeat(c, service)
        send_frame(c, 1, BLANK)
        assert wait_entries(c, RESULTS, 1)[0][0].frame_id == 1

        # Redis restarts with nothing: no stream, no group. The detector re-creates them.
        server.stop()
        before = retries(service)
        wait_for(lambda: retries(service) > before or not service.alive(), "the detector retrying after the loss", 30)
        assert service.alive(), service.log()
        server = start_redis()
        wait_heartbeat(c, service, timeout=30)
        deadline = time.monotonic() + 30
        while not c.exists(streams.FRAMES) and time.monotonic() < deadline:
            time.sleep(0.05)
        send_frame(c, 2, BLANK)
        assert wait_entries(c, RESULTS, 1, timeout=30)[0][0].frame_id == 2
    finally:
        service.stop()
        if server is not None:
            server.stop()


def test_a_batch_is_detected_on_several_threads_and_every_frame_answered_once(redis_url, client, tmp_path):
    redis_io.ensure_group(client, streams.FRAMES, streams.DETECTOR_GROUP)
    astro, astro_box = astronaut_frame()
    images = {0: (astro, 1), 1: (pasted_jpeg(), 3), 2: (BLANK, 0)}
    for frame_id in range(1, 25):  # queued before the detector starts: its first reads are full batches
        now = time.time()
        message = FrameMessage(gateway=GATEWAY, sid=f"sid-{frame_id}", frame_id=frame_id, received_at=now,
                               width=320, height=240, stamps=Stamps(enqueued_at=now))
        redis_io.add(client, streams.FRAMES, message, images[frame_id % 3][0], maxlen=1000)

    service = start_detector(redis_url, tmp_path, SENTIVIS_DETECTOR_THREADS="3", SENTIVIS_READ_COUNT="8")
    try:
        with_faces = wait_entries(client, streams.FACES, 16)
        without = wait_entries(client, RESULTS, 8)
        answered = sorted(m.frame_id for m, _ in with_faces + without)
        assert answered == list(range(1, 25)), answered  # each frame exactly once
        for message, data in with_faces + without:
            assert message.error is None
            assert len(message.faces) == images[message.frame_id % 3][1]
            assert unpack_crops(data, len(message.faces)).shape == (len(message.faces), 48, 48)
            if message.frame_id % 3 == 0:
                assert iou(message.faces[0].box, astro_box) > 0.6
        assert pending(client) == 0
        beat = wait_heartbeat(client, service, check=lambda b: b["processed"] >= 24)
        assert beat["processed"] == 24 and beat["expired"] == 0 and beat["failed"] == 0
        assert len(client.xrange(streams.FACES)) == 16 and len(client.xrange(RESULTS)) == 8  # no duplicates
    finally:
        service.stop()
    assert service.proc.returncode == 0, service.log()
