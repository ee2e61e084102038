"""The readiness probe's rule (gateway/probe.py), with a fake pipeline and a fake clock."""
import redis

from gateway.probe import ReadinessProbe
from sentivis.protocol import FrameMessage


class FakePipeline:
    """Answers each probe after `delay_ms` of the fake clock, with `faces` faces or an `error`."""

    def __init__(self):
        self.now = 1000.0
        self.delay_ms = 20.0
        self.faces = [{"box": {"x": 1, "y": 1, "width": 10, "height": 10}, "score": 0.9, "emotion": None}]
        self.error = None
        self.answer = True
        self.down = False
        self.timeouts = []

    def clock(self):
        return self.now

    def send(self, jpeg, width, height, timeout_s):
        assert jpeg[:3] == b"\xff\xd8\xff" and (width, height) == (320, 240)
        self.timeouts.append(timeout_s)
        if self.down:
            raise redis.ConnectionError("Connection refused")
        self.now += self.delay_ms / 1000
        if not self.answer:
            return None
        return FrameMessage("g", "oneshot:x", 0, self.now, 320, 240, faces=list(self.faces), error=self.error)


def probe_with(pipeline: FakePipeline, **kwargs) -> ReadinessProbe:
    return ReadinessProbe(pipeline.send, max_ms=250, needed=3, clock=pipeline.clock, **kwargs)


def test_ready_after_three_answers_in_time_in_a_row():
    pipeline = FakePipeline()
    probe = probe_with(pipeline)
    for _ in range(2):
        assert probe.probe_once().ok
        assert not probe.ready
    probe.probe_once()
    assert probe.ready
    assert probe.status()["last"][-1]["detail"] == "answered"


def test_one_slow_answer_makes_it_unready_until_three_more_pass():
    pipeline = FakePipeline()
    probe = probe_with(pipeline)
    for _ in range(3):
        probe.probe_once()
    pipeline.delay_ms = 400
    result = probe.probe_once()
    assert (result.ok, result.detail, round(result.round_trip_ms)) == (False, "slow", 400)
    assert not probe.ready
    pipeline.delay_ms = 30
    probe.probe_once()
    probe.probe_once()
    assert not probe.ready
    probe.probe_once()
    assert probe.ready


def test_no_answer_an_error_no_face_or_no_redis_is_not_ready():
    pipeline = FakePipeline()
    probe = probe_with(pipeline)
    pipeline.answer = False
    assert probe.probe_once().detail == "timeout"
    pipeline.answer, pipeline.error = True, "decode_failed"
    assert probe.probe_once().detail == "decode_failed"
    pipeline.error, pipeline.faces = None, []
    assert probe.probe_once().detail == "no face"
    pipeline.down = True
    assert probe.probe_once().detail.startswith("redis: ")
    assert not probe.ready
    assert not any(r["ok"] for r in probe.status()["last"])


def test_a_probe_waits_a_few_times_the_bound_for_its_answer():
    pipeline = FakePipeline()
    probe_with(pipeline).probe_once()
    assert pipeline.timeouts == [1.0]
