"""docker-stack.yml on one node, for real: the token is required, real face frames go through
nginx to the gateways and workers, several gateways each answer only their own browsers,
nginx follows gateways coming and going, a killed detector task is replaced while the other
replica answers, and losing the Redis master while a browser streams is followed by every
service through the sentinels. The frame helpers are tests/support/frames.py."""
from __future__ import annotations

import threading
import time
import uuid

import numpy as np
import pytest
import socketio

from sentivis import streams
from sentivis.settings import REPO_ROOT
from tests.support.frames import face_results, results_flow_again, run_driver, stream_frames, wait_inferences
from tests.support.waiting import wait_for
from tests.swarm.app import TOKEN, URL, client, get
from tests.swarm.harness import Stack
from toolkit.client import FrameClient
from toolkit.samples import astronaut_frame, iou, pasted_frame


def result_streams(app) -> dict[str, int]:
    """Every gateway's result stream and how many entries it was ever given."""
    counts = {}
    for key in app.redis("--scan", "--pattern", streams.results_stream("*")).split():
        lines = app.redis("xinfo", "stream", key).splitlines()
        counts[key] = int(lines[lines.index("entries-added") + 1])
    return counts


def grown(before: dict[str, int], after: dict[str, int], by: int = 1) -> set[str]:
    return {k for k, n in after.items() if n - before.get(k, 0) >= by}


def test_the_stack_refuses_to_deploy_without_a_token(docker, swarm):
    stack = Stack(docker, f"svnotoken{uuid.uuid4().hex[:6]}", REPO_ROOT / "docker-stack.yml", {})
    result = stack.deploy(check=False)
    assert result.returncode != 0
    assert "SENTIVIS_AUTH_TOKEN" in result.stderr
    assert not docker("stack", "services", "-q", stack.name, check=False).split()


def test_right_after_ready_a_camera_at_15_fps_gets_every_frame_answered(app):
    """The first test to use the stack, right after /readyz said ready through nginx: a camera at 15 fps
    gets all of its first 60 frames answered, as fast as the next 60 (ready means warm)."""
    camera = client().start([astronaut_frame()[0]], 15, duration=8)
    try:
        camera.wait(lambda _: len(camera.records) >= 120, timeout=30)
        camera.stop()
        assert camera.wait_answered(timeout=30)
    finally:
        camera.close()
    records = sorted(camera.records.values(), key=lambda r: r.frame_id)
    first, later = records[:60], records[60:120]
    assert [r.code or r.event for r in first] == ["inference"] * 60, [r.code or r.event for r in first]
    p95 = lambda rs: float(np.percentile([r.rtt_ms for r in rs if r.event == "inference"], 95))  # noqa: E731
    print(f"\nround trip p95 right after ready: first 60 frames {p95(first):.0f} ms, the next 60 {p95(later):.0f} ms")
    assert p95(first) <= 1.5 * p95(later) + 50, (p95(first), p95(later))


def test_frames_through_nginx_need_the_token_and_come_back_with_faces(app):
    status, body = get("/healthz")
    assert status == 200 and body["status"] == "ok"
    assert get("/readyz")[0] == 401
    status, ready = get("/readyz", TOKEN)
    assert status == 200 and ready["ready"] and ready["detectors"] == 1 and ready["classifiers"] == 1
    with pytest.raises(socketio.exceptions.ConnectionError):
        FrameClient(URL)
    image, box = astronaut_frame()
    pasted, boxes = pasted_frame()
    browser = client()
    try:
        name, event = stream_frames(browser, image, 1, 1, timeout=30)[0]
        assert name == "inference", event
        assert len(event["faces"]) == 1 and iou(event["faces"][0]["box"], box) > 0.5
        name, event = stream_frames(browser, pasted, 2, 1)[0]
        assert name == "inference" and len(event["faces"]) == len(boxes), event
        assert event["models"]["emotion"]["ready"] is True
        assert all(face["emotion"]["label"] for face in event["faces"])
    finally:
        browser.close()


def test_long_polling_is_refused_with_a_clear_message(app):
    for path in ("socket.io", "socket.io-msgpack"):
        status, body = get(f"/{path}/?EIO=4&transport=polling")
        assert status == 400 and body["error"] == "websocket_only" and "websocket" in body["message"], body
    # A client with its library's defaults starts on long-polling: refused at once, with the 400.
    sio = socketio.Client(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError, match="400"):
        sio.connect(URL, auth={"token": TOKEN}, wait_timeout=15)


@pytest.mark.parametrize("driver", ["python", "node"])
def test_default_clients_told_to_use_websocket_stream_through_several_gateways(app, driver, tmp_path):
    """python-socketio and Node's socket.io-client, default parser, `transports: ["websocket"]`."""
    image, _ = pasted_frame()
    paths = [tmp_path / f"{i}.jpg" for i in range(3)]
    for path in paths:
        path.write_bytes(image)
    report = run_driver(driver, URL, "default", paths, token=TOKEN, env={"CONFORMANCE_TRANSPORTS": "websocket"})
    assert report["refusal"]["refused"] and report["refusal"]["data"] == {"code": "unauthorized"}
    assert [a["event"] for a in report["answers"]] == ["inference"] * 3
    assert all(len(a["faces"]) == 3 for a in report["answers"]), report["answers"]
    assert report["after_reconnect"]["answer"]["event"] == "inference"


def connect_to_another_gateway(app, taken: set[str], image: bytes, first_id: int, attempts: int = 30):
    """Connections until one lands on a gateway not in `taken` (nginx picks an address of the
    gateway service per connection); returns the client and its gateway's result stream: the one
    that grew by the client's FRAMES answers (every gateway's readiness probe adds one now and then)."""
    frames = 8
    for attempt in range(attempts):
        before = result_streams(app)
        browser = client()
        first = first_id + attempt * frames
        answers = stream_frames(browser, image, first, frames, timeout=30)
        assert [name for name, _ in answers] == ["inference"] * frames, answers
        (stream,) = grown(before, result_streams(app), by=frames)
        if stream not in taken:
            return browser, stream
        browser.close()
    raise AssertionError(f"{attempts} connections all reached {taken}")


def test_two_browsers_on_two_gateways_each_get_only_their_own_results(app):
    image, _ = astronaut_frame()
    pasted, boxes = pasted_frame()
    first, stream_a = connect_to_another_gateway(app, set(), image, 100)
    second, stream_b = connect_to_another_gateway(app, {stream_a}, pasted, 200)
    errors = []

    def send(browser, frame, first_id):
        try:
            stream_frames(browser, frame, first_id, 20)
        except Exception as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    try:
        before = result_streams(app)
        threads = [threading.Thread(target=send, args=(first, image, 1000)),
                   threading.Thread(target=send, args=(second, pasted, 2000))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=180)
        assert not errors, errors
        # each browser's answers came through its own gateway's stream
        assert grown(before, result_streams(app)) == {stream_a, stream_b}
        for browser, own, other, faces in ((first, range(1000, 1020), range(2000, 2020), 1),
                                           (second, range(2000, 2020), range(1000, 1020), len(boxes))):
            assert not [p for _, p in browser.events if p.get("frame_id") in other]
            answers = [(n, p) for n, p in browser.events if p.get("frame_id") in own]
            assert sorted(p["frame_id"] for _, p in answers) == list(own)
            with_faces = face_results(answers)
            assert len(with_faces) >= 15 and all(len(p["faces"]) == faces for p in with_faces), with_faces[:2]
        answered = {name: len(browser.answered()) for name, browser in (("first", first), ("second", second))}
        inferences = {name: browser.codes()["inference"] for name, browser in (("first", first), ("second", second))}
        print(f"\n2 gateways: frames sent {sum(len(b.records) for b in (first, second))}, answered {answered} "
              f"(inferences {inferences}), each through its own gateway's result stream ({stream_a}, {stream_b})")
    finally:
        first.close()
        second.close()


def test_nginx_follows_gateways_coming_and_going(app):
    image, _ = astronaut_frame()
    app.stack.scale(gateway=3)
    app.stack.wait_healthy({"gateway": 3}, timeout=180)
    seen: set[str] = set()
    for n in range(3):  # the new gateway is found within nginx's 5 s DNS validity
        browser, stream = connect_to_another_gateway(app, seen, image, 3000 + 100 * n)
        browser.close()
        seen.add(stream)
    app.stack.scale(gateway=2)
    app.stack.wait_healthy({"gateway": 2}, timeout=180)
    # the stopped gateway's address is gone from DNS (or skipped as refusing): every new browser is answered
    for n in range(10):
        browser = client()
        try:
            name, event = stream_frames(browser, image, 4000 + n, 1, timeout=30)[0]
            assert name == "inference", event
        finally:
            browser.close()


def test_scaled_workers_share_the_frames_and_a_killed_detector_task_is_replaced(app, docker):
    app.stack.scale(detector=2, classifier=2)
    app.stack.wait_healthy({"detector": 2, "classifier": 2}, timeout=300)
    wait_for(lambda: (r := get("/readyz", TOKEN)[1]).get("detectors") == 2 and r.get("classifiers") == 2,
             "two detectors and two classifiers ready", 60, interval=1)
    image, _ = astronaut_frame()
    browser = client()
    try:
        frame_id = results_flow_again(browser, image, 5000)
        killed = app.stack.containers("detector")[0]
        before = {t["id"] for t in app.stack.running("detector")}
        killed_at = time.monotonic()
        docker("kill", killed)
        # the other replica answers while swarm replaces the killed task
        frame_id = results_flow_again(browser, image, frame_id)
        flowing_s = time.monotonic() - killed_at

        def replaced():
            running = app.stack.running("detector")
            return len(running) == 2 and {t["id"] for t in running} != before and \
                killed not in {t["container"] for t in running} and app.stack.healthy("detector", 2)

        wait_for(replaced, "swarm runs a new detector task in place of the killed one", 180, interval=2)
        replaced_s = time.monotonic() - killed_at
        results_flow_again(browser, image, frame_id)
        print(f"\ndetector task killed (1 of 2): 10 answers in a row with faces {flowing_s:.1f} s after the kill, "
              f"a new task running and healthy after {replaced_s:.0f} s")
    finally:
        browser.close()


# What a frame sent around the loss may get: lost with the master (timeout), refused while no
# master answers (unavailable), dropped by the in-flight cap while two lost ones wait, or by the
# rate limit when frames queued behind a blocked submit arrive together.
AFTER_LOSS = {"inference", "timeout", "unavailable", "too_many_in_flight", "expired", "rate_limited"}


def test_losing_the_redis_master_while_a_browser_streams_is_followed_by_every_service(app, docker):
    """kill -9 of the master's container: the sentinels promote the replica (down after 5 s), every
    service reconnects to it by itself (no task restarts), results resume; every frame is
    answered, those lost with the master with a frame_error. Swarm restarts the killed node, which
    comes back as a replica of the new master."""
    services = ("gateway", "detector", "classifier", "trainer")
    tasks = {s: {t["id"] for t in app.stack.running(s)} for s in services}
    old = app.master()
    image, _ = astronaut_frame()
    browser = client().start([image], 5)
    try:
        assert browser.wait_inference_after(time.monotonic(), timeout=60) is not None
        wait_inferences(browser, time.monotonic(), 10, timeout=30)  # results flowing when the master goes
        (container,) = app.stack.containers(old)
        killed_at = time.monotonic()
        docker("kill", container)
        new = wait_for(lambda: (m := app.masters()) and len(m) == 1 and m != {old} and "" not in m and m.pop(),
                       "every sentinel names the replica", 120, interval=0.5)
        failover_s = time.monotonic() - killed_at
        recovery_s = browser.wait_inference_after(killed_at, timeout=120)
        assert recovery_s is not None, "no results after the failover"
        wait_inferences(browser, killed_at + recovery_s, 15, timeout=60)  # and results keep coming
    finally:
        browser.stop()
    try:
        assert browser.wait_answered(timeout=40), f"unanswered frames: {browser.unanswered()[:10]}"
    finally:
        browser.close()
    codes = browser.codes(since=killed_at)
    assert set(codes) <= AFTER_LOSS, codes
    lost = sum(n for code, n in codes.items() if code != "inference")
    assert {s: {t["id"] for t in app.stack.running(s)} for s in services} == tasks, "a service task was restarted"
    print(f"\nRedis master lost (docker kill {old}, sentinels down-after 5 s): {new} named master after "
          f"{failover_s:.1f} s, results again after {recovery_s:.1f} s; {len(browser.answered(since=killed_at))} "
          f"frames sent since, {lost} answered with a frame_error ({dict(codes)}), none unanswered")

    def rejoined():
        info = dict(line.split(":", 1) for line in app.redis("info", "replication", host=old, check=False).split()
                    if ":" in line)
        return info.get("role") == "slave" and info.get("master_host") == new and info.get("master_link_status") == "up"

    wait_for(rejoined, f"{old} restarted by swarm as a replica of {new}", 180, interval=2)
    assert app.master() == new
    wait_for(lambda: get("/readyz", TOKEN)[0] == 200, "/readyz on the new master", 60, interval=1)
