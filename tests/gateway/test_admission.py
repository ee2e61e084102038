"""Admission: frames that cannot be served in time are refused ("overloaded") before they are
queued, fairly between connections, and every frame still gets an answer.

The rule itself on a fake clock; then the real gateway process against a real Redis, with this
test playing a slow worker in the detectors' group."""
from __future__ import annotations

import threading
import time
from collections import Counter, deque

import numpy as np
import pytest
import redis

from gateway.admission import Admission, Backlog
from sentivis import redis_io, streams
from sentivis.protocol import EmotionInfo, Models, decode
from tests.support.metrics import metric
from tests.support.waiting import wait_for
from toolkit.adaptive import AdaptiveRate
from toolkit.client import FrameClient
from toolkit.samples import jpeg

GOOD = jpeg(np.full((240, 320, 3), 90, np.uint8))
# Of the slow worker's 25 fps: the light client, one of 5 connections sending, a frame every 0.5 s, has
# a turn for each frame from 5 / (0.9 x 0.5 s) = 11 fps on.
MEASURED_RATE_FPS = 15


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Workers:
    """Workers serving `rate` frames per second from a FIFO queue of admitted frames, sampled by
    the admission every 100 ms as the gateway's sweeper does."""

    def __init__(self, admission: Admission, clock: Clock, rate: float):
        self.admission, self.clock, self.rate = admission, clock, rate
        self.queue: deque[str] = deque()
        self.served = 0
        self._credit = 0.0
        self._ticks = 0
        self.max_backlog = 0

    def offer(self, sid: str) -> bool:
        if self.admission.admit(sid):
            self.queue.append(sid)
            self.max_backlog = max(self.max_backlog, len(self.queue))
            return True
        return False

    def tick(self, dt: float = 0.01) -> None:
        self.clock.now += dt
        self._credit += self.rate * dt
        while self._credit >= 1 and self.queue:
            self.queue.popleft()
            self.admission.done(answered=True)
            self.served += 1
            self._credit -= 1
        if not self.queue:
            self._credit = min(self._credit, 1.0)  # idle workers bank no capacity
        self._ticks += 1
        if self._ticks % round(0.1 / dt) == 0:
            self.admission.observe(Backlog(len(self.queue), self.served))

    def run(self, seconds: float, offers=()) -> None:
        for _ in range(round(seconds / 0.01)):
            for sid in offers:
                self.offer(sid)
            self.tick()


def test_below_the_budget_every_frame_is_admitted_and_counted_in_flight():
    admission = Admission(wait_ms=100, min_frames=4, clock=Clock())
    assert [admission.admit("a") for _ in range(4)] == [True] * 4
    assert admission.in_flight == 4 and admission.backlog() == 4
    admission.done(4, answered=True)
    assert admission.in_flight == 0


def test_the_budget_follows_the_measured_rate():
    clock = Clock()
    admission = Admission(wait_ms=100, min_frames=4, clock=clock)
    workers = Workers(admission, clock, rate=200.0)
    workers.run(3.0, offers=["a"] * 4)  # more than 200 frames/s offered: the workers never idle
    assert admission.rate == pytest.approx(200.0, rel=0.1)
    assert admission.budget == pytest.approx(20.0, rel=0.1)  # 200 frames/s x 100 ms
    assert workers.max_backlog <= admission.limit


def test_over_the_budget_a_connection_gets_only_its_turns():
    clock = Clock()
    admission = Admission(wait_ms=100, min_frames=4, clock=clock)
    workers = Workers(admission, clock, rate=40.0)
    workers.run(2.0, offers=["heavy", "light"])  # two connections share 40 frames/s: a turn every 56 ms
    workers.run(0.1)  # the light client's last frame is older than its fair interval
    while admission.backlog() < admission.budget:
        assert workers.offer("heavy")
    assert not workers.offer("heavy")  # over the budget, and its turn came a moment ago
    assert workers.offer("light")
    clock.now += 0.06
    assert workers.offer("heavy")  # its turn again


def test_a_flood_shares_the_rate_a_light_client_gets_every_frame_and_the_backlog_stays_bounded():
    clock = Clock()
    admission = Admission(wait_ms=100, min_frames=4, clock=clock)
    workers = Workers(admission, clock, rate=40.0)
    heavy = [f"heavy-{i}" for i in range(9)]  # each offers 100 frames/s, 900 in all
    admitted = {sid: 0 for sid in heavy}
    light_refused = 0
    workers.run(1.0, offers=heavy)  # the rate is measured
    served_before = workers.served
    for tick in range(400):  # 4 s
        for sid in heavy:
            admitted[sid] += workers.offer(sid)
        if tick % 50 == 0:  # 2 frames/s
            light_refused += not workers.offer("light")
        workers.tick()
    assert light_refused == 0
    assert workers.served - served_before >= 0.95 * 40 * 4  # the workers never idle
    # Each flooding connection gets at least its even share of the turns (0.9 x 40 / 10 connections
    # per second); what the workers serve beyond the turns goes to whoever offers first.
    assert min(admitted.values()) >= 0.8 * 0.9 * 40 / 10 * 4
    assert workers.max_backlog <= admission.limit <= 2 * admission.budget + 10


def test_nothing_is_admitted_past_the_limit():
    clock = Clock()
    admission = Admission(wait_ms=100, min_frames=4, clock=clock)
    admitted = sum(admission.admit(f"c{i}") for i in range(100))  # each one's first frame is its turn
    assert admitted == admission.limit == 8


def test_other_gateways_frames_in_the_streams_count():
    admission = Admission(wait_ms=100, min_frames=4, clock=Clock())
    admission.observe(Backlog(waiting=10, served=0))
    assert admission.elsewhere == 10 and admission.backlog() == 10
    assert not admission.admit("a")  # 10 frames are more than twice the budget


def test_a_wait_of_zero_turns_admission_off():
    admission = Admission(wait_ms=0, min_frames=1)
    admission.observe(Backlog(waiting=1000, served=0))
    assert all(admission.admit("a") for _ in range(50))


# -- the real gateway ----------------------------------------------------------------------
def slow_worker(url: str, per_frame_s: float, stop: threading.Event) -> None:
    """A detector that answers one frame every per_frame_s seconds, straight back to the gateway,
    in the detectors' group (so the gateway's backlog sampling sees its reads)."""
    client = redis.Redis.from_url(url)
    redis_io.ensure_group(client, streams.FRAMES, streams.DETECTOR_GROUP)
    while not stop.is_set():
        reply = client.xreadgroup(streams.DETECTOR_GROUP, "slow", {streams.FRAMES: ">"}, count=1, block=100)
        for _, entries in reply or []:
            for entry_id, fields in entries:
                time.sleep(per_frame_s)
                message, _ = decode(fields)
                message.stamps.detector_start = time.time()
                message.models = Models(emotion=EmotionInfo(True, "test"))
                pipe = client.pipeline()
                redis_io.send_result(pipe, message, 1000)
                pipe.xack(streams.FRAMES, streams.DETECTOR_GROUP, entry_id)
                pipe.execute()


@pytest.fixture
def overloaded_gateway(start_gateway, redis_url):
    """A gateway with a tiny admission budget (2 frames) in front of a worker serving 25 fps;
    no per-connection rate limit, and a per-connection in-flight cap that does not bind."""
    url, _ = start_gateway(SENTIVIS_ADMISSION_WAIT_MS="1", SENTIVIS_ADMISSION_MIN_FRAMES="2",
                           SENTIVIS_MAX_IN_FLIGHT="10", SENTIVIS_MAX_FRAMES_PER_SECOND="0",
                           SENTIVIS_FRAME_TIMEOUT_MS="10000")
    stop = threading.Event()
    worker = threading.Thread(target=slow_worker, args=(redis_url, 0.04, stop), daemon=True)
    worker.start()
    yield url
    stop.set()
    worker.join(5)


def test_a_flood_is_refused_overloaded_while_a_light_client_gets_every_frame(overloaded_gateway):
    url = overloaded_gateway
    flood = [FrameClient(url) for _ in range(4)]
    light = FrameClient(url)
    try:
        for client in flood:  # 4 x 40 fps against a worker serving 25
            client.start([GOOD], 40.0, first_frame_id=1, duration=5.0)
        # The light client comes once the gateway has measured the workers' rate (its turns depend on it).
        wait_for(lambda: (metric(url, "sentivis_workers_rate_fps") or 0) >= MEASURED_RATE_FPS,
                 "the gateway measuring the workers' rate", 4, interval=0.1)
        light.start([GOOD], 2.0, first_frame_id=1, duration=3.0)
        light.join(10)
        for client in flood:
            client.join(10)
        # Nothing hangs: every frame sent gets an inference or a frame_error.
        for client in [*flood, light]:
            assert client.wait_answered(15), f"unanswered frames: {client.unanswered()[:10]}"
        light_codes = light.codes()
        assert light_codes == {"inference": sum(light_codes.values())} and light_codes["inference"] >= 5
        flood_codes = sum((c.codes() for c in flood), start=Counter())
        assert flood_codes["overloaded"] > 0 and flood_codes["inference"] > 0
        assert set(flood_codes) <= {"inference", "overloaded"}  # refused at once, never queued to expire
        # Every flooding connection got frames through: the refusals are spread, not one starved.
        assert all(c.codes()["inference"] > 0 for c in flood)
        [error] = [p for n, p in flood[0].events if n == "frame_error"][:1]
        assert error["code"] == "overloaded" and "overloaded" in error["message"]
        assert metric(url, "sentivis_frames_rejected_total", code="overloaded") == flood_codes["overloaded"]
        assert metric(url, "sentivis_admission_budget_frames") == 2  # the minimum: 25 fps x 1 ms is far below
    finally:
        for client in [*flood, light]:
            client.close()


def test_with_admission_off_nothing_is_refused_overloaded(start_gateway, redis_url):
    url, _ = start_gateway(SENTIVIS_ADMISSION_WAIT_MS="0", SENTIVIS_MAX_IN_FLIGHT="4",
                           SENTIVIS_MAX_FRAMES_PER_SECOND="0", SENTIVIS_FRAME_TIMEOUT_MS="10000")
    stop = threading.Event()
    worker = threading.Thread(target=slow_worker, args=(redis_url, 0.04, stop), daemon=True)
    worker.start()
    client = FrameClient(url)
    try:
        client.start([GOOD], 40.0, duration=2.0).join(10)
        assert client.wait_answered(15)
        codes = client.codes()
        assert "overloaded" not in codes and codes["inference"] > 0 and codes["too_many_in_flight"] > 0
    finally:
        client.close()
        stop.set()
        worker.join(5)


# -- clients that back off, as the page does -------------------------------------------------
def test_the_python_clients_rate_rule_is_the_pages():
    # The cases of frontend/src/lib/adaptiveRate.test.ts: cut to 0.7 once per burst, climbs back a
    # step a second once calm, a far-away gateway's steady round trip is not a queue.
    rate = AdaptiveRate(20)
    for t in (1000, 1010, 1500):
        rate.overloaded(t)
    assert (rate.fps, rate.reason) == (14, "overloaded")
    rate.overloaded(2100)
    assert rate.fps == 9
    seen = []
    for t in range(2600, 20000, 500):
        rate.answered(30, t)
        rate.tick(t)
        seen.append(rate.fps)
    assert sorted(set(seen)) == list(range(9, 21)) and (rate.fps, rate.reason) == (20, None)
    far = AdaptiveRate(30)
    for t in range(0, 3000, 33):
        far.answered(320, t)
    assert (far.fps, far.reason) == (30, None)


def test_an_adaptive_client_sends_what_the_gateway_can_serve(overloaded_gateway):
    client = FrameClient(overloaded_gateway)
    try:
        client.start([GOOD], 60.0, duration=8.0, adaptive=True).join(20)  # 60 fps against a worker serving 25
        assert client.wait_answered(15)
        assert client.held > 0 and client.rate_control.fps < 60  # it lowered its rate
        late = client.codes(since=client.records[1].sent + 4.0)  # once it has settled
        assert late["inference"] >= 0.8 * sum(late.values())
    finally:
        client.close()
