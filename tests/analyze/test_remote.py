"""RemoteEngine against a stand-in gateway: a 503 (no worker answered in time) is asked again,
a lasting one is reported for that frame, and every request carries the bearer token and asks
for the faces' appearance (for the analyzer's tracker)."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from analyzer.engines import FrameFailed, RemoteEngine
from sentivis.protocol import EmotionInfo, Models

LOOK = [0.125] * 64  # the appearance vector the stand-in sends


class StandIn(ThreadingHTTPServer):
    """Answers POST /api/v1/analyze with 503 `busy` times, then 200 with one face."""

    def __init__(self, busy: int):
        self.busy, self.requests = busy, []
        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - the name http.server calls
        server: StandIn = self.server
        body = self.rfile.read(int(self.headers["Content-Length"]))
        server.requests.append((self.path, self.headers.get("Authorization"), body[:2]))
        if len(server.requests) <= server.busy:
            status, reply = 503, {"error": "no worker answered in time", "code": "timeout"}
        else:
            face = {"box": {"x": 1, "y": 2, "width": 3, "height": 4}, "score": 0.9,
                    "emotion": {"label": "happy", "confidence": 0.8, "probabilities": {"happy": 0.8},
                                "raw": {"label": "sad", "confidence": 0.6, "probabilities": {"sad": 0.6}}},
                    "appearance": LOOK}
            status, reply = 200, {"faces": [face], "models": {"emotion": {"ready": True}}}
        data = json.dumps(reply).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):  # keep the test output clean
        pass


@pytest.fixture
def stand_in(request):
    server = StandIn(request.param)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


FRAME = np.full((48, 64, 3), 100, np.uint8)


@pytest.mark.parametrize("stand_in", [2], indirect=True)
def test_a_503_is_asked_again_and_the_answer_used(stand_in):
    engine = RemoteEngine(stand_in.url, max_faces=4, token="secret")
    try:
        [face] = engine.analyze(FRAME)
    finally:
        engine.close()
    assert len(stand_in.requests) == 3  # two 503s, then the answer
    assert all(r == ("/api/v1/analyze?appearance=1", "Bearer secret", b"\xff\xd8") for r in stand_in.requests)
    assert face.emotion.label == "sad"  # the frame's own output, not the smoothed one
    assert face.appearance_vector().tolist() == pytest.approx(LOOK, abs=1e-3)
    assert engine.models == Models(emotion=EmotionInfo(ready=True))


@pytest.mark.parametrize("stand_in", [100], indirect=True)
def test_a_lasting_503_fails_that_frame_after_three_retries(stand_in):
    engine = RemoteEngine(stand_in.url, max_faces=4)
    try:
        with pytest.raises(FrameFailed, match="503: no worker answered in time"):
            engine.analyze(FRAME)
    finally:
        engine.close()
    assert len(stand_in.requests) == 4
