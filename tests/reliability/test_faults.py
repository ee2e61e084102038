"""Faults under the supervised stack of `sentivis up`: kill -9 of a worker, of Redis, of the gateway,
while a client streams. The supervisor restarts what died; the client gets results again, errors
for the frames lost in between, and never waits forever."""
import time

import pytest

from tests.support.frames import wait_inferences
from tests.support.stack import emotion_weights
from toolkit.client import FrameClient
from toolkit.samples import astronaut_frame
from toolkit.stack import Stack

RATE = 5  # fps per client
AFTER_FAULT_CODES = {"inference", "expired", "timeout", "unavailable", "too_many_in_flight"}


@pytest.fixture(scope="module")
def runner(tmp_path_factory):
    # Its own redis-server, so that the supervisor restarts Redis too.
    stack = Stack(detectors=2, classifiers=2, log_dir=tmp_path_factory.mktemp("runner"),
                  env={"SENTIVIS_HEARTBEAT_S": "0.5", "SENTIVIS_EMOTION_WEIGHTS": emotion_weights()})
    yield stack.start_ready(timeout=120, supervise=True)
    stack.stop()


@pytest.fixture
def client(runner):
    astro, _ = astronaut_frame()
    c = FrameClient(runner.url, reconnection=True).start([astro], RATE)
    assert c.wait_inference_after(time.monotonic(), timeout=30) is not None, runner.logs()
    yield c
    c.close()


def finish(runner, client, since: float) -> dict:
    """Stop streaming; every frame must be answered (or lost with a dropped connection)."""
    client.stop()
    assert client.wait_answered(timeout=30), f"unanswered frames {client.unanswered()[:10]}\n{runner.logs()}"
    codes = client.codes(since)
    assert set(codes) <= AFTER_FAULT_CODES, codes
    runner.wait_ready(timeout=90)  # back to full strength for the next test
    return dict(codes)


def kill_and_recover(runner, client, name: str, timeout: float) -> tuple[float, float | None]:
    """kill -9 `name` while the client streams (results flowing); wait for its restart, then for a
    result of a frame sent after the kill. Returns the kill time and the seconds from it to that
    result (None: none within `timeout`)."""
    starts = runner.starts(name)
    wait_inferences(client, time.monotonic(), 2 * RATE, timeout=30)
    killed_at = time.monotonic()
    runner.kill(name)
    assert runner.wait_restarted(name, starts + 1, timeout=60), runner.logs()
    return killed_at, client.wait_inference_after(killed_at, timeout=timeout)


@pytest.mark.parametrize("name", ["detector-1", "classifier-1"])
def test_kill_9_of_a_worker_leaves_results_flowing(runner, client, name):
    others = {n: pid for n, pid in runner.pids().items() if n != name}
    killed_at, recovery = kill_and_recover(runner, client, name, timeout=60)
    assert recovery is not None, runner.logs()  # frames sent after the kill are answered again
    wait_inferences(client, killed_at + recovery, 2 * RATE, timeout=60)  # and keep coming
    codes = finish(runner, client, killed_at)
    print(f"\nkill -9 {name}: first result {recovery * 1000:.0f} ms after the kill; replies since: {codes}")
    assert {n: pid for n, pid in runner.pids().items() if n in others} == others, "only the victim restarted"


def test_redis_restart_under_load_is_survived_with_errors_not_hangs(runner, client):
    services = {n: pid for n, pid in runner.pids().items() if n != "redis"}
    killed_at, recovery = kill_and_recover(runner, client, "redis", timeout=60)
    assert recovery is not None, runner.logs()
    wait_inferences(client, killed_at + recovery, 2 * RATE, timeout=60)
    codes = finish(runner, client, killed_at)
    print(f"\nkill -9 redis: results again {recovery:.1f} s after the kill; replies since: {codes}")
    assert codes.get("timeout", 0) + codes.get("unavailable", 0) + codes.get("expired", 0) >= 1, \
        "frames lost with Redis must come back as errors"
    assert {n: pid for n, pid in runner.pids().items() if n != "redis"} == services, \
        "every service reconnected by itself; none restarted"


def test_a_client_with_reconnection_resumes_after_a_gateway_restart(runner, client):
    connects = len(client.connects)
    killed_at, recovery = kill_and_recover(runner, client, "gateway", timeout=60)
    assert recovery is not None, runner.logs()
    assert len(client.connects) > connects and client.disconnects, "the client reconnected by itself"
    wait_inferences(client, killed_at + recovery, RATE, timeout=60)
    codes = finish(runner, client, killed_at)
    print(f"\nkill -9 gateway: results again {recovery:.1f} s after the kill ({client.lost_with_connection()} "
          f"frames lost with the old connection, {client.not_sent} ticks while disconnected); replies since: {codes}")
