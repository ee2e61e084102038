"""Hostile Engine.IO and Socket.IO packets on both endpoints of a real stack (reliability/packets.py).

Each case gets its clean answer (a frame_error, a clean close, or Socket.IO's silence), a
well-behaved client streaming beside them gets an answer to every frame, the gateway's log holds no
traceback, and once the hostile connections are gone the gateway holds no session of theirs.
"""
from __future__ import annotations

import re
import time

import pytest

from reliability.packets import RawSocket, hostile_packets, hostile_polling
from tests.support.stack import start_stack
from toolkit.client import FrameClient
from toolkit.samples import astronaut_frame
from toolkit.stack import Stack

PARSERS = ("default", "msgpack")


@pytest.fixture(scope="module")
def stack(redis_server, tmp_path_factory):
    redis_server.client().flushall()
    s = start_stack(redis_server.url, tmp_path_factory.mktemp("stack"))
    yield s
    s.stop()


def sessions(stack: Stack) -> dict[str, float]:
    """The gateway's open Engine.IO sessions per endpoint, from /metrics."""
    import urllib.request

    with urllib.request.urlopen(stack.url + "/metrics", timeout=5) as response:
        text = response.read().decode()
    return {m[0]: float(m[1]) for m in re.findall(r'sentivis_transport_sessions\{endpoint="(\w+)"\} (\S+)', text)}


def wait_sessions(stack: Stack, expected: dict[str, float], timeout: float = 15.0) -> dict[str, float]:
    deadline = time.monotonic() + timeout
    while True:
        now = sessions(stack)
        if now == expected or time.monotonic() > deadline:
            return now
        time.sleep(0.1)


@pytest.mark.parametrize("parser", PARSERS)
def test_every_hostile_packet_gets_a_clean_answer_and_leaves_nothing_behind(stack, parser):
    astro, _ = astronaut_frame()
    good = FrameClient(stack.url, parser=parser).start([astro], 4)
    try:
        assert good.wait_inference_after(time.monotonic(), timeout=30) is not None, stack.logs()
        baseline = sessions(stack)
        results = {}
        for case in hostile_packets(parser, astro):
            raw = RawSocket(stack.url, parser)
            try:
                raw.connect()
                for packet in case.packets:
                    raw.send(packet)
                outcome, payload = raw.outcome(timeout=3.0 if case.outcome == "ignored" else 15.0)
                if outcome == "frame_error":
                    outcome = "frame_error" if payload.get("code") in case.codes else f"frame_error {payload}"
                results[case.name] = (case.outcome, outcome)
            finally:
                raw.close()
        wrong = {name: got for name, got in results.items() if got[0] != got[1]}
        assert not wrong, f"expected vs got: {wrong}"
        polling = hostile_polling(stack.url, parser)
        assert set(polling.values()) == {400}, polling
        # Every hostile connection is gone: none left open, no writer waiting on it.
        assert wait_sessions(stack, baseline) == baseline
        stopped_at = time.monotonic()
    finally:
        good.close()
    sent = [r for r in good.records.values() if r.sent < stopped_at - 5]
    assert sent and all(r.event == "inference" for r in sent), [(r.frame_id, r.event, r.code) for r in sent]
    log = stack.logs(1_000_000)
    assert "Traceback" not in log, log[-5000:]
    assert "Sending packet" not in log and "Received packet" not in log, "a log line per packet at INFO"
    assert stack.pids()["gateway"]
