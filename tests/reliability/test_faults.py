"""Faults under `python -m sentivis.runner`: kill -9 of a worker, of Redis, of the gateway, while
a client streams. The runner restarts what died; the client gets results again, errors for the
frames lost in between, and never waits forever."""
import time

import pytest

from reliability.load import LoadClient
from reliability.stack import RunnerStack
from tests.images import astronaut_frame
from tests.pipeline.conftest import emotion_weights

RATE = 5  # fps per client
AFTER_FAULT_CODES = {"inference", "expired", "timeout", "unavailable", "too_many_in_flight"}


@pytest.fixture(scope="module")
def runner(tmp_path_factory):
    # The runner's own redis-server (SENTIVIS_REDIS_URL empty), so that it restarts Redis too.
    stack = RunnerStack(tmp_path_factory.mktemp("runner") / "runner.log", detectors=2, classifiers=2,
                        env={"SENTIVIS_REDIS_URL": "", "SENTIVIS_EMOTION_WEIGHTS": emotion_weights()})
    try:
        stack.wait_ready(timeout=120)
        yield stack
    finally:
        stack.stop()


@pytest.fixture
def client(runner):
    astro, _ = astronaut_frame()
    c = LoadClient(runner.url, astro, RATE, reconnection=True).connect()
    c.start()
    assert c.wait_inference_after(time.monotonic(), timeout=20) is not None, runner.log_tail()
    yield c
    c.close()


def finish(runner, client, since: float) -> dict:
    """Stop streaming; every frame must be answered (or lost with a dropped connection)."""
    client.stop()
    assert client.wait_answered(timeout=20), f"unanswered frames {client.unanswered(0)[:10]}\n{runner.log_tail()}"
    codes = client.codes(since)
    assert set(codes) <= AFTER_FAULT_CODES, codes
    runner.wait_ready(timeout=90)  # back to full strength for the next test
    return dict(codes)


def kill_and_recover(runner, client, name: str, timeout: float) -> tuple[float, float | None]:
    """kill -9 `name` while the client streams; wait for its restart, then for a result of a frame
    sent after the kill. Returns the kill time and the seconds from it to that result (None: none)."""
    starts = len(runner.pids[name])
    time.sleep(2)
    killed_at = time.monotonic()
    runner.kill(name)
    assert runner.wait_restarted(name, starts + 1, timeout=30), runner.log_tail()
    return killed_at, client.wait_inference_after(killed_at, timeout=timeout)


@pytest.mark.parametrize("name", ["detector-1", "classifier-1"])
def test_kill_9_of_a_worker_leaves_results_flowing_within_2_s(runner, client, name):
    others = {n: p.pid for n, p in runner.processes().items() if n != name}
    killed_at, recovery = kill_and_recover(runner, client, name, timeout=10)
    assert recovery is not None and recovery <= 2.0, (recovery, runner.log_tail())
    time.sleep(4)  # the frame the dead worker held is claimed by its twin (then expired) or timed out
    codes = finish(runner, client, killed_at)
    print(f"\nkill -9 {name}: first result {recovery * 1000:.0f} ms after the kill; replies since: {codes}")
    assert {n: p.pid for n, p in runner.processes().items() if n in others} == others, "only the victim restarted"


def test_redis_restart_under_load_is_survived_with_errors_not_hangs(runner, client):
    services = {n: p.pid for n, p in runner.processes().items() if n != "redis"}
    killed_at, recovery = kill_and_recover(runner, client, "redis", timeout=30)
    assert recovery is not None, runner.log_tail()
    time.sleep(4)
    codes = finish(runner, client, killed_at)
    print(f"\nkill -9 redis: results again {recovery:.1f} s after the kill; replies since: {codes}")
    assert codes.get("timeout", 0) + codes.get("unavailable", 0) + codes.get("expired", 0) >= 1, \
        "frames lost with Redis must come back as errors"
    assert {n: p.pid for n, p in runner.processes().items() if n != "redis"} == services, \
        "every service reconnected by itself; none restarted"


def test_a_client_with_reconnection_resumes_after_a_gateway_restart(runner, client):
    connects = len(client.connects)
    killed_at, recovery = kill_and_recover(runner, client, "gateway", timeout=60)
    assert recovery is not None, runner.log_tail()
    assert len(client.connects) > connects and client.disconnects, "the client reconnected by itself"
    time.sleep(2)
    codes = finish(runner, client, killed_at)
    print(f"\nkill -9 gateway: results again {recovery:.1f} s after the kill ({client.lost_with_connection()} "
          f"frames lost with the old connection, {client.not_sent} ticks while disconnected); replies since: {codes}")
