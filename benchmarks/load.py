"""The benchmark's load: N Socket.IO clients, each sending frames at F fps (open loop).

Each client (toolkit.client.FrameClient) sends on a fixed schedule whatever the answers do, as
a camera would, and records per frame when it was sent, the event that answered it (`inference`
or `frame_error`), the round trip, the server's stage split and `dropped_frames`.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from toolkit.client import FrameClient, FrameRecord
from toolkit.samples import SampleFrame


@dataclass
class LoadResult:
    clients: int
    fps_per_client: float
    duration: float
    start: float  # time.monotonic() of the first frame due
    end: float  # when the last frame was due
    per_client: list[list[FrameRecord]]
    late_events: int  # answers to frames a client never sent (must stay 0)
    skipped: int  # frames the clients skipped because they ran late
    held: int = 0  # frames adaptive clients did not send, having lowered their rate as the page does

    @property
    def records(self) -> list[FrameRecord]:
        return [r for records in self.per_client for r in records]


def run_load(url: str, frames: list[SampleFrame], clients: int, fps: float, duration: float,
             drain_s: float = 4.0, adaptive: bool = False, **client_options) -> LoadResult:
    """Connect `clients` clients, send for `duration` s, then wait up to `drain_s` for the answers.
    adaptive: the clients lower and raise their rate as the page does (FrameClient.start);
    client_options: FrameClient's (parser, socketio_path ...)."""
    load_clients = [FrameClient(url, **client_options) for _ in range(clients)]
    try:
        primers = [threading.Thread(target=c.prime, args=(frames[0],), daemon=True) for c in load_clients]
        for t in primers:
            t.start()
        for t in primers:
            t.join(35)
        start = time.monotonic() + 0.3
        for i, c in enumerate(load_clients):
            # Spread the clients' phases so their frames do not all arrive at the same instant.
            c.start(frames, fps, duration=duration, at=start + i / (fps * clients), offset=i, adaptive=adaptive)
        for c in load_clients:
            c.join(duration + 30)
        deadline = time.monotonic() + drain_s
        while time.monotonic() < deadline and any(c.unanswered() for c in load_clients):
            time.sleep(0.05)
    finally:
        for c in load_clients:
            c.close()
    return LoadResult(clients, fps, duration, start, start + duration,
                      [list(c.records.values()) for c in load_clients], sum(c.late_events for c in load_clients),
                      sum(c.skipped for c in load_clients), sum(c.held for c in load_clients))
