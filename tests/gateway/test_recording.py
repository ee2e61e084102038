"""The gateway's side of recorded sessions (gateway/recording.py) against a real Redis, its flusher
driven by the test (flush()) on fake clocks; the backlog bound with a real recorder process.

Bad requests get their code and change nothing: no record appended, no other session touched."""
from __future__ import annotations

import signal
import sqlite3

import msgspec
import pytest

from gateway.recording import Recording, SessionRefused
from sentivis import records as r
from sentivis import redis_io, streams
from sentivis.errors import SESSION_ERRORS as SESSION_ERROR_CODES
from sentivis.protocol import Inference
from sentivis.sessions import db, queries
from sentivis.settings import Settings
from tests.support.waiting import wait_for
from toolkit.processes import Service


class Clock:
    def __init__(self, now: float = 1_700_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def inference(frame_id: int, people: int = 2) -> Inference:
    """An `inference` event as the gateway's present stage makes it."""
    return msgspec.convert({
        "frame_id": frame_id, "width": 320, "height": 240,
        "faces": [{"id": i, "box": {"x": 10 * i, "y": 20, "width": 50, "height": 60}, "score": 0.9,
                   "emotion": {"label": "happy", "confidence": 0.8,
                               "probabilities": {"angry": 0.02, "disgust": 0.0, "fear": 0.03, "happy": 0.8, "sad": 0.05,
                                                 "surprise": 0.03, "neutral": 0.07},
                               "raw": {"label": "happy", "confidence": 0.9,
                                       "probabilities": {"angry": 0.01, "disgust": 0.0, "fear": 0.02, "happy": 0.9,
                                                         "sad": 0.03, "surprise": 0.02, "neutral": 0.02}}}}
                  for i in range(1, people + 1)],
        "models": {"emotion": {"ready": True, "version": "emotion-net-1", "accuracy": 0.69},
                   "detector": {"ready": True, "name": "blazeface"}},
        "latency": {"server_ms": 12.0, "queue_ms": 1.0}, "dropped_frames": 0}, Inference)


def appended(client) -> list:
    return [r.decode(fields) for _, fields in client.xrange(streams.RECORDS)]


def fake_recorder_alive(client) -> None:
    redis_io.heartbeat(client, "recorder", "test", {"ready": True}, ttl_s=600)


@pytest.fixture
def client(redis_url):
    return redis_io.connect(redis_url)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def recording(client, clock):
    fake_recorder_alive(client)
    rec = Recording(Settings(records_max_backlog=50), client, clock=clock, gateway_id="gw-1", monotonic=clock,
                    flusher=False)
    yield rec
    rec.close(timeout=1)


def test_a_session_records_each_answered_frame_and_ends(recording, client, clock):
    recording.record("sid-1", inference(1))  # not recording: nothing
    started = recording.start("sid-1", {"name": "  participant 7 "})
    assert started == {"id": started["id"], "name": "participant 7", "recording": True}
    for frame_id in range(3, 6):
        clock.now += 0.1
        recording.record("sid-1", inference(frame_id))
    assert recording.flush() == 4
    assert recording.stop("sid-1", {"id": started["id"]}) == {"id": started["id"], "recording": False}
    recording.flush()
    start, *frames, stop = appended(client)
    assert isinstance(start, r.SessionStarted) and start.name == "participant 7" and start.gateway == "gw-1"
    assert start.settings["smoothing_s"] == Settings().smoothing_s
    assert [(f.seq, f.frame_id) for f in frames] == [(0, 3), (1, 4), (2, 5)]
    assert frames[0].time == pytest.approx(start.started_at + 0.1 - 0.012)  # the gateway's receive time
    assert frames[0].models == r.Models("emotion-net-1", "blazeface", 0.69) and frames[1].models is None
    person = frames[0].people[0]
    assert person.box == (10, 20, 50, 60) and person.label == "happy" and person.probabilities[3] == 0.8
    assert person.raw[3] == 0.9
    assert stop == r.SessionStopped(started["id"], clock.now, 3, 0, "stopped")


@pytest.mark.parametrize("payload, message", [
    (None, "needs an object"), ({}, "needs an object"), ({"name": 7}, "needs an object"),
    ({"name": "   "}, "1 to 200 characters"), ({"name": "x" * 201}, "1 to 200 characters"),
    ({"name": "x" * 10_000_000}, "longer than 200"), ({"name": "a\x00b"}, "control characters"),
    ({"name": "line\nbreak"}, "control characters")])
def test_a_bad_name_is_refused_and_nothing_is_recorded(recording, client, payload, message):
    other = recording.start("sid-other", {"name": "other"})
    with pytest.raises(SessionRefused, match=message) as refused:
        recording.start("sid-1", payload)
    assert refused.value.code == "invalid_session_name"
    assert refused.value.event() == {"code": "invalid_session_name", "message": refused.value.message}
    assert recording.active("sid-1") is None and recording.active("sid-other") == other["id"]
    recording.flush()
    assert [type(x).__name__ for x in appended(client)] == ["SessionStarted"]


def test_second_start_and_stops_that_are_not_yours_are_refused_and_change_nothing(recording, client):
    mine = recording.start("sid-1", {"name": "mine"})
    theirs = recording.start("sid-2", {"name": "theirs"})
    with pytest.raises(SessionRefused) as refused:
        recording.start("sid-1", {"name": "again"})
    assert (refused.value.code, refused.value.session_id) == ("already_recording", mine["id"])
    with pytest.raises(SessionRefused) as refused:
        recording.stop("sid-1", {"id": theirs["id"]})
    assert refused.value.event() == {"code": "unknown_session", "message": SESSION_ERROR_CODES["unknown_session"],
                                     "id": theirs["id"]}
    for payload in ({"id": "x" * 10_000}, {"id": 5}, "a string"):
        with pytest.raises(SessionRefused) as refused:
            recording.stop("sid-1", payload)
        assert refused.value.code == "unknown_session" and "id" not in refused.value.event()
    with pytest.raises(SessionRefused) as refused:
        recording.stop("sid-3")
    assert refused.value.code == "not_recording"
    assert (recording.active("sid-1"), recording.active("sid-2")) == (mine["id"], theirs["id"])
    recording.flush()
    assert [type(x).__name__ for x in appended(client)] == ["SessionStarted", "SessionStarted"]
    assert recording.disconnected("sid-2") == {"id": theirs["id"], "recording": False}
    assert recording.disconnected("sid-2") is None
    recording.flush()
    assert appended(client)[-1].reason == "disconnected"


def test_no_session_starts_without_a_recorder_or_with_a_full_backlog(client, clock):
    recording = Recording(Settings(records_max_backlog=5), client, clock=clock, flusher=False)
    with pytest.raises(SessionRefused, match="no recorder is running") as refused:
        recording.start("sid-1", {"name": "x"})
    assert refused.value.code == "recording_unavailable"
    fake_recorder_alive(client)
    for _ in range(5):
        client.xadd(streams.RECORDS, {"meta": b"", "data": b""})
    with pytest.raises(SessionRefused, match="5 records wait"):
        recording.start("sid-1", {"name": "x"})
    assert client.xlen(streams.RECORDS) == 5 and recording.active("sid-1") is None


def test_past_the_bound_frames_become_a_gap_not_a_silent_loss(recording, client, clock):
    started = recording.start("sid-1", {"name": "bounded"})
    recording.flush()
    filler = [client.xadd(streams.RECORDS, {"meta": b"", "data": b""}) for _ in range(49)]  # 50 with the start
    recording.record("sid-1", inference(1))
    clock.now += 1
    recording.flush()  # appends frame 0 and samples the backlog: 51 >= 50
    for frame_id in range(2, 12):
        clock.now += 0.05
        recording.record("sid-1", inference(frame_id))  # frames 1..10: not appended
    recording.flush()
    assert client.xlen(streams.RECORDS) == 51
    client.xdel(streams.RECORDS, *filler[:10])  # the database is back: the backlog drains to 41 (< 45)
    clock.now += 1
    recording.flush()
    recording.record("sid-1", inference(12))
    recording.stop("sid-1")
    recording.flush()
    gap, frame, stop = [r.decode(fields) for _, fields in client.xrange(streams.RECORDS)[-3:]]
    assert gap == r.Gap(started["id"], 1, 10, gap.started_at, gap.ended_at) and gap.ended_at > gap.started_at
    assert (frame.seq, frame.frame_id) == (11, 12)
    assert (stop.frames, stop.gap_frames) == (12, 10)


def test_the_bound_with_a_real_recorder_marks_the_session_with_its_gap(redis_url, tmp_path, new_database):
    """SQLite locked by the test: the recorder cannot write, the records reach the bound, frames
    become a gap; unlocked, the backlog drains, recording resumes, and the database says so."""
    database_url = new_database("sqlite")
    client = redis_io.connect(redis_url)
    settings = Settings(redis_url=redis_url, database_url=database_url, records_max_backlog=20)
    engine = db.Database(db.database_url(settings)).ready()
    recorder = Service("recorder", {"SENTIVIS_REDIS_URL": redis_url, "SENTIVIS_DATABASE_URL": database_url,
                                    "SENTIVIS_HEARTBEAT_S": "0.2", "SENTIVIS_BLOCK_MS": "100"}, tmp_path).start()
    clock = Clock()
    recording = Recording(settings, client, clock=clock, monotonic=clock, flusher=False)
    try:
        wait_for(lambda: redis_io.live_services(client, "recorder"), "the recorder's heartbeat")
        lock = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
        lock.execute("BEGIN EXCLUSIVE")
        started = recording.start("sid-1", {"name": "gap"})
        seq = 0
        while client.xlen(streams.RECORDS) < 20:  # every frame is appended until the bound
            recording.record("sid-1", inference(seq))
            seq += 1
            clock.now += 0.2
            recording.flush()
        for _ in range(15):  # then counted
            recording.record("sid-1", inference(seq))
            seq += 1
            clock.now += 0.2
            recording.flush()
        assert client.xlen(streams.RECORDS) == 20
        lock.rollback()
        lock.close()
        wait_for(lambda: client.xlen(streams.RECORDS) < 18, "the backlog draining")
        clock.now += 0.2
        recording.flush()
        recording.record("sid-1", inference(seq))
        recording.stop("sid-1")
        recording.flush()
        found = wait_for(lambda: (s := queries.get_session(engine, started["id"])) and s["ended_at"] and s,
                      "the session written with its gap")
        assert found["gap_frames"] == 15 and found["frames"] == seq + 1 - 15 and found["reported_frames"] == seq + 1
        assert [(g["first_seq"], g["frames"]) for g in found["gaps"]] == [(seq - 15, 15)]
    finally:
        recorder.kill(signal.SIGTERM)
        engine.dispose()


def test_shutdown_ends_every_session_and_appends_what_is_queued(client, clock):
    fake_recorder_alive(client)
    recording = Recording(Settings(), client, clock=clock, monotonic=clock, flusher=False)
    first = recording.start("sid-1", {"name": "one"})
    second = recording.start("sid-2", {"name": "two"})
    recording.record("sid-1", inference(1))
    recording.close(timeout=5)
    kinds = [(type(x).__name__, x.session_id) for x in appended(client)]
    assert kinds == [("SessionStarted", first["id"]), ("SessionStarted", second["id"]), ("FrameRecord", first["id"]),
                     ("SessionStopped", first["id"]), ("SessionStopped", second["id"])]
    assert {x.reason for x in appended(client) if isinstance(x, r.SessionStopped)} == {"shutdown"}
    assert recording.active("sid-1") is None and recording.active("sid-2") is None


def test_with_its_flusher_thread_records_reach_the_stream_without_flush_calls(client):
    fake_recorder_alive(client)
    recording = Recording(Settings(), client)
    started = recording.start("sid-1", {"name": "threaded"})
    for frame_id in range(5):
        recording.record("sid-1", inference(frame_id))
    recording.stop("sid-1")
    wait_for(lambda: len(appended(client)) == 7, "the flusher appending the session")
    assert [x.seq for x in appended(client) if isinstance(x, r.FrameRecord)] == [0, 1, 2, 3, 4]
    assert appended(client)[-1].session_id == started["id"]
    recording.close(timeout=2)
