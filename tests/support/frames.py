"""Frames through a running stack, one answer at a time, and the conformance drivers of tests/clients
(python-socketio and Node's socket.io-client) run as subprocesses: what the compose and swarm tests
send through nginx."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from sentivis.settings import REPO_ROOT
from tests.support.waiting import wait_for
from toolkit.client import FrameClient


def stream_frames(client: FrameClient, image: bytes, start_id: int, count: int, timeout: float = 20.0) -> list:
    """Send frames one after another, each after the previous one's answer (the gateway caps
    frames in flight per connection); returns the events, in order."""
    events = []
    for frame_id in range(start_id, start_id + count):
        client.send(frame_id, image)
        events.append(client.wait_frame(frame_id, timeout=timeout))
    return events


def face_results(events) -> list[dict]:
    return [p for name, p in events if name == "inference" and p.get("faces")]


def results_flow_again(client: FrameClient, image: bytes, first_id: int, timeout: float = 90) -> int:
    """Frames in flight when a replica died may time out; then 10 frames in a row come back with
    faces and an emotion field. Returns the next free frame id."""
    deadline = time.monotonic() + timeout
    frame_id, in_a_row = first_id, 0
    while in_a_row < 10:
        assert time.monotonic() < deadline, f"results did not flow again: {client.events[-5:]}"
        name, event = stream_frames(client, image, frame_id, 1, timeout=30)[0]
        frame_id += 1
        in_a_row = in_a_row + 1 if name == "inference" and event["faces"] and "emotion" in event["faces"][0] else 0
    return frame_id


def run_driver(client: str, url: str, parser: str, paths: list[Path], token: str = "",
               env: dict[str, str] | None = None) -> dict:
    """The conformance session of tests/clients ("python": python-socketio, "node": socket.io-client)
    with `parser`, sending the JPEG files `paths`; its JSON report. env: e.g. CONFORMANCE_TRANSPORTS."""
    argv = ([sys.executable, "-m", "tests.clients.python_client"] if client == "python"
            else ["node", str(REPO_ROOT / "tests" / "clients" / "node" / "conformance.mjs")])
    done = subprocess.run([*argv, url, token, parser, *map(str, paths)], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=240, env={**os.environ, **(env or {})})
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def wait_inferences(client: FrameClient, since: float, count: int, timeout: float) -> None:
    """Until `count` of the frames a streaming `client` sent from `since` (time.monotonic()) on came
    back as inferences: results flowing, observed rather than slept on."""
    try:
        wait_for(lambda: client.codes(since)["inference"] >= count, f"{count} inferences", timeout, interval=0.1)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; the answers to the frames sent since: {dict(client.codes(since))}") from None
