"""Hostile input through a real stack: 1,000 malformed frames (half through each parser) and a
1,000 fps flood, while a well-behaved client streams beside them and gets an answer to every frame.
Packets below the frame (Engine.IO, Socket.IO) are tests/reliability/test_packets.py's."""
import json
import subprocess
import sys
import time
from collections import Counter

import pytest

from reliability.fuzz import bad_frames
from sentivis.settings import REPO_ROOT
from tests.support.frames import wait_inferences
from tests.support.metrics import metric
from tests.support.stack import start_stack
from toolkit.client import FrameClient
from toolkit.processes import get_json
from toolkit.samples import astronaut_frame

MAX_FRAME_BYTES = 300_000
GOOD_RATE = 4  # fps: modest, so the good client tests answers, not the machine's saturation
FUZZ_RATE = 50  # bad frames per second at most: the content is under test here; the flood test does volume
RATE_LIMIT = 30  # frames per second per connection, the default, with a one-second burst


@pytest.fixture
def stack(redis_url, tmp_path, request):
    # The fuzzer sends one frame after another as fast as they are answered: it is the frames'
    # content under test there, so its stack has a rate limit above its pace. The flood test
    # keeps the default limit.
    s = start_stack(redis_url, tmp_path, SENTIVIS_MAX_FRAME_BYTES=str(MAX_FRAME_BYTES),
                    **getattr(request, "param", {}))
    yield s
    s.stop()


@pytest.fixture
def good(stack):
    """A well-behaved client streaming the astronaut at GOOD_RATE, answered once already."""
    client = FrameClient(stack.url).start([astronaut_frame()[0]], GOOD_RATE)
    assert client.wait_inference_after(time.monotonic(), timeout=30) is not None, stack.logs()
    yield client
    client.close()


def send_and_collect(client: FrameClient, frames, max_rate: float) -> list[tuple[str, set[str], str]]:
    """Send each bad frame and wait for its answer before the next one, so answers match sends
    even when the frame_id is missing or invalid (then the answer's frame_id is null).
    Returns (kind, expected codes, code received) per answer."""
    results = []
    pending = []
    next_at = 0.0
    for frame in frames:
        pending.append(frame)
        if frame.kind == "repeated_id_first":
            continue  # its twin goes out at once, while the first is still in flight
        time.sleep(max(0.0, next_at - time.monotonic()))
        next_at = time.monotonic() + 1 / max_rate
        before = len(client.events)
        for f in pending:
            client.send_raw(f.payload)
        client.wait_count(before + len(pending), timeout=30)
        answers = [p.get("code") for _, p in client.events[before:before + len(pending)]]
        if len(pending) == 1:
            results.append((frame.kind, frame.codes, answers[0]))
        else:  # a repeated id: refused as a duplicate while the first is in flight; a repeat after the
            # first's answer is a new frame, judged by its (bad) image
            results.append(("repeated_id", {"decode_failed,duplicate_frame_id", "decode_failed,decode_failed"},
                            ",".join(sorted(answers))))
        pending = []
    return results


def sent_between(client: FrameClient, since: float, until: float) -> list:
    return [r for r in client.records.values() if since <= r.sent < until]


@pytest.mark.parametrize("stack", [{"SENTIVIS_MAX_FRAMES_PER_SECOND": "2000"}], indirect=True)
@pytest.mark.parametrize("parser", ["default", "msgpack"])
def test_a_thousand_malformed_frames_get_specific_errors_and_a_good_client_gets_every_answer(stack, good, parser):
    """500 bad frames through each parser: 1,000 in all."""
    astro, _ = astronaut_frame()
    services_before = stack.pids()
    fuzzer = FrameClient(stack.url, parser=parser)
    try:
        fuzz_from = time.monotonic()
        frames = list(bad_frames(astro, MAX_FRAME_BYTES, count=500, seed=7 if parser == "msgpack" else 8))
        results = send_and_collect(fuzzer, frames, FUZZ_RATE)
        fuzz_to = time.monotonic()
        good.stop()
        assert good.wait_answered(timeout=30), good.unanswered()

        wrong = [(kind, expected, got) for kind, expected, got in results if got not in expected]
        assert not wrong, wrong[:10]
        assert len(fuzzer.events) == len(frames) >= 500
        repeats = [got for kind, _, got in results if kind == "repeated_id"]
        assert sum("duplicate_frame_id" in got for got in repeats) >= len(repeats) / 2, repeats
        assert all(n == "frame_error" for n, _ in fuzzer.events)

        # The good client kept streaming while the fuzzer ran, and every one of its frames came
        # back as an inference: none refused, none lost, none left waiting.
        during = sent_between(good, fuzz_from, fuzz_to)
        print(f"\nfuzz: {len(frames)} bad frames in {fuzz_to - fuzz_from:.1f} s; the good client sent "
              f"{len(during)} frames meanwhile; its answers {dict(good.codes())}")
        assert during and all(r.event == "inference" for r in during), good.codes(fuzz_from, fuzz_to)
        assert set(good.codes()) == {"inference"}, good.codes()
        assert stack.pids() == services_before, stack.logs()  # nothing died or restarted
        assert get_json(stack.url + "/readyz")[0] == 200
    finally:
        fuzzer.close()


def test_a_client_flooding_at_1000_fps_is_throttled_and_others_are_unaffected(stack, good):
    # The flooder is a process of its own at a lower priority: on this 2-core machine it would
    # otherwise take the CPU the stack needs (an attacker's machine is not the server's).
    flood = subprocess.run(["nice", "-n", "10", sys.executable, "-m", "tests.support.flood", stack.url,
                            "--rate", "1000", "--seconds", "5"], cwd=REPO_ROOT, capture_output=True, text=True,
                           timeout=120)
    assert flood.returncode == 0, flood.stderr
    report = json.loads(flood.stdout)
    wait_inferences(good, time.monotonic(), 2 * GOOD_RATE, timeout=30)  # and the good client streams on
    good.stop()
    assert report["answered"] and good.wait_answered(timeout=30)

    sent, flood_codes, good_codes = report["sent"], Counter(report["codes"]), good.codes()
    last_answer = report["last_answer_s"]
    print(f"\nflood: {sent} frames -> {dict(flood_codes)}, last answer {last_answer:.1f} s after the start; "
          f"good client {dict(good_codes)}")
    # The flood gets rate_limited errors: the bucket lets through its burst plus the limit a
    # second for as long as the gateway was taking the flood off the socket (which may outlast
    # the sending); every other frame is refused. (The in-flight cap takes most of those.)
    passed = sent - flood_codes["rate_limited"]
    assert sent > 10 * RATE_LIMIT and flood_codes["rate_limited"] > 0, flood_codes
    assert passed <= RATE_LIMIT + RATE_LIMIT * last_answer + 5, (passed, last_answer)
    # The other client is never refused: every one of its frames came back as an inference.
    assert set(good_codes) == {"inference"}, good_codes
    # every frame it dropped is counted in /metrics
    assert metric(stack.url, "sentivis_frames_rejected_total", code="rate_limited") >= flood_codes["rate_limited"]
    assert all(p.alive() for p in stack.processes.values()), stack.logs()

