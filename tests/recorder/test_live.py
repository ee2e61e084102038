"""Recorded sessions through a real stack (gateway, detector, classifier, recorder, SQLite), over
both Socket.IO parsers: consent first, what was answered ends up in the database and its CSV, bad
requests get a `session_error` and change nothing."""
from __future__ import annotations

import csv
import io
import time
import urllib.request

import pytest

from tests.support.stack import stack_env
from toolkit.client import FrameClient
from toolkit.processes import get_json
from toolkit.samples import pasted_frame
from toolkit.stack import Stack

PARSERS = ("default", "msgpack")


@pytest.fixture(scope="module")
def stack(redis_server, tmp_path_factory):
    redis_server.client().flushall()
    folder = tmp_path_factory.mktemp("live-sessions")
    env = stack_env(SENTIVIS_DATABASE_URL=f"sqlite:///{folder / 'sessions.db'}")
    s = Stack(1, 1, redis_url=redis_server.url, env=env, log_dir=folder, recorders=1).start_ready(timeout=120)
    yield s
    s.stop()


def session_events(client: FrameClient, name: str, count: int, timeout: float = 15.0) -> list[dict]:
    client.wait(lambda events: sum(n == name for n, _ in events) >= count, timeout)
    return [p for n, p in client.events if n == name]


def wait_written(url: str, session_id: str, frames: int, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        status, body = get_json(f"{url}/api/v1/sessions/{session_id}")
        if status == 200 and body["frames"] >= frames and body["ended_at"] is not None:
            return body
        assert time.monotonic() < deadline, f"session {session_id} not written: {status} {body}"
        time.sleep(0.2)


@pytest.mark.parametrize("parser", PARSERS)
def test_a_session_records_every_answered_frame_and_person(stack, parser):
    image, places = pasted_frame()
    client = FrameClient(stack.url, parser=parser)
    try:
        client.send(1, image)  # before consent: not recorded
        client.wait_frame(1, timeout=30)
        client.sio.emit("session_start", {"name": f"study {parser}"})
        [started] = session_events(client, "session", 1)
        assert started["recording"] is True and started["name"] == f"study {parser}" and started["id"]
        for frame_id in range(2, 8):
            client.send(frame_id, image)
            assert client.wait_frame(frame_id, timeout=30)[0] == "inference"
        client.sio.emit("session_stop", {"id": started["id"]})
        stopped = session_events(client, "session", 2)[1]
        assert stopped == {"id": started["id"], "recording": False}
        client.send(8, image)  # after the stop: not recorded
        client.wait_frame(8, timeout=30)
    finally:
        client.close()
    answered = [p for n, p in client.events if n == "inference" and 2 <= p["frame_id"] <= 7]
    session = wait_written(stack.url, started["id"], len(answered))
    assert (session["frames"], session["people"], session["gap_frames"]) == (6, len(places), 0)
    with urllib.request.urlopen(f"{stack.url}/api/v1/sessions/{started['id']}/frames?format=csv", timeout=10) as r:
        rows = list(csv.DictReader(io.StringIO(r.read().decode())))
    # One row per person per answered frame, as the client was told.
    told = sorted((p["frame_id"], f["id"], f["emotion"]["label"]) for p in answered for f in p["faces"])
    assert sorted((int(r["frame_id"]), int(r["face_id"]), r["label"]) for r in rows) == told


@pytest.mark.parametrize("parser", PARSERS)
def test_bad_session_requests_get_a_code_and_change_nothing(stack, parser):
    first, other = FrameClient(stack.url, parser=parser), FrameClient(stack.url, parser=parser)
    try:
        sessions_before = get_json(f"{stack.url}/api/v1/sessions")[1]["sessions"]
        for payload in (None, {}, {"name": ""}, {"name": 5}, {"name": "x" * 10_000_000}, "study"):
            first.sio.emit("session_start", payload)
        codes = [e["code"] for e in session_events(first, "session_error", 6, timeout=30)]
        assert codes == ["invalid_session_name"] * 6
        other.sio.emit("session_start", {"name": "other's"})
        [others] = session_events(other, "session", 1)
        first.sio.emit("session_stop", {"id": others["id"]})  # not yours
        first.sio.emit("session_stop")  # nothing to stop
        first.sio.emit("session_start", {"name": "mine"})
        first.sio.emit("session_start", {"name": "again"})  # already recording
        errors = session_events(first, "session_error", 9)[6:]
        assert [e["code"] for e in errors] == ["unknown_session", "not_recording", "already_recording"]
        assert [p["name"] for p in session_events(first, "session", 1)] == ["mine"]
        # The other connection's session is untouched; frames still flow on both connections.
        for client, frame_id in ((first, 1), (other, 2)):
            client.send(frame_id, pasted_frame()[0])
            assert client.wait_frame(frame_id, timeout=30)[0] == "inference"
        other.sio.emit("session_stop")
        assert session_events(other, "session", 2)[1] == {"id": others["id"], "recording": False}
    finally:
        first.close()
        other.close()
    ids = {s["id"] for s in get_json(f"{stack.url}/api/v1/sessions")[1]["sessions"]} - {
        s["id"] for s in sessions_before}
    assert len(ids) == 2  # "mine" (ended by the disconnect) and the other's
    assert "Traceback" not in stack.logs(200_000)
