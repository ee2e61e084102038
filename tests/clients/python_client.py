"""The conformance session with python-socketio, as a user's script would write it (test helper).

`session(url, token, parser, frames)` runs the same steps as node/conformance.mjs and returns the
same report (tests/clients/test_conformance.py checks both; tests/compose and tests/swarm run it as
`python -m tests.clients.python_client URL TOKEN PARSER FRAME.jpg ...`):
  1. with a token: a connection with a wrong one is refused: the connect error's message and data;
  2. with the token: the `limits` event, then each frame in turn, waiting for its answer;
  3. two bad frames (not a JPEG; a frame_id that is a string): their `frame_error`s;
  4. the transport is cut under the client: it reconnects by itself, gets `limits` again and one
     more frame is answered.
The default parser connects exactly as the library's defaults do (long-polling, then the upgrade).
"""
from __future__ import annotations

import os
import threading
import time
from typing import Any

import socketio

from sentivis.protocol import SOCKETIO_PATHS

WAIT_S = 30.0


class Inbox:
    """Every event a client received, in order, with a wait on the next one of a kind."""

    def __init__(self):
        self.events: list[tuple[str, Any]] = []
        self._cond = threading.Condition()

    def handler(self, name: str):
        def on(*args):
            with self._cond:
                self.events.append((name, args[0] if args else None))
                self._cond.notify_all()
        return on

    def wait(self, accept, what: str, timeout: float = WAIT_S):
        """The first event (name, payload) not yet taken for which accept(name, payload) is true."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for i, (name, payload) in enumerate(self.events):
                    if accept(name, payload):
                        del self.events[i]
                        return name, payload
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {what} within {timeout} s; got {self.events}")
                self._cond.wait(left)


def answer_to(frame_id):
    return lambda name, p: (name in ("inference", "frame_error") and isinstance(p, dict)
                            and p.get("frame_id") == frame_id)


def client(parser: str) -> socketio.Client:
    return socketio.Client() if parser == "default" else socketio.Client(serializer="msgpack")


def connect_kwargs(parser: str) -> dict[str, Any]:
    """The default parser on its default path, with the library's default transports; MessagePack on
    its path. CONFORMANCE_TRANSPORTS=websocket: WebSocket only (behind several gateways)."""
    kwargs: dict[str, Any] = {} if parser == "default" else {"socketio_path": SOCKETIO_PATHS["msgpack"]}
    if os.environ.get("CONFORMANCE_TRANSPORTS"):
        kwargs["transports"] = os.environ["CONFORMANCE_TRANSPORTS"].split(",")
    return kwargs


def refusal(url: str, parser: str, token: str) -> dict[str, Any]:
    sio = client(parser)
    reasons = []
    sio.on("connect_error", lambda data=None: reasons.append(data))
    try:
        sio.connect(url, auth={"token": token}, wait_timeout=WAIT_S, **connect_kwargs(parser))
    except socketio.exceptions.ConnectionError:
        pass
    else:
        sio.disconnect()
        return {"refused": False}
    reason = reasons[0] if reasons else {}
    return {"refused": True, "message": reason.get("message"), "data": reason.get("data")}


def session(url: str, token: str, parser: str, frames: list[bytes]) -> dict[str, Any]:
    report: dict[str, Any] = {"refusal": refusal(url, parser, "wrong-" + token) if token else None}
    sio = client(parser)
    inbox = Inbox()
    for name in ("limits", "inference", "frame_error", "connect", "disconnect"):
        sio.on(name, inbox.handler(name))
    sio.connect(url, auth={"token": token} if token else None, wait_timeout=WAIT_S, **connect_kwargs(parser))
    try:
        inbox.wait(lambda n, p: n == "connect", "the connection")
        report["limits"] = inbox.wait(lambda n, p: n == "limits", "limits")[1]
        answers = []
        for frame_id, image in enumerate(frames, start=1):
            sio.emit("frame", {"frame_id": frame_id, "image": image})
            answers.append(inbox.wait(answer_to(frame_id), f"an answer to frame {frame_id}"))
        report["answers"] = [{"event": n, **p} for n, p in answers]
        report["transport"] = sio.transport()
        bad = len(frames) + 1
        sio.emit("frame", {"frame_id": bad, "image": b"GIF89a" + bytes(100)})
        sio.emit("frame", {"frame_id": "seven", "image": frames[0]})
        report["errors"] = [inbox.wait(answer_to(bad), "the not-JPEG answer")[1],
                            inbox.wait(answer_to(None), "the bad frame_id answer")[1]]
        sio.eio.ws.close() if sio.eio.ws is not None else sio.eio.http.close()  # the network drops
        inbox.wait(lambda n, p: n == "disconnect", "the disconnect")
        after = {"limits": inbox.wait(lambda n, p: n == "limits", "limits after the reconnection")[1]}
        inbox.wait(lambda n, p: n == "connect", "the reconnection")
        sio.emit("frame", {"frame_id": bad + 1, "image": frames[0]})
        name, payload = inbox.wait(answer_to(bad + 1), "an answer after the reconnection")
        report["after_reconnect"] = {**after, "answer": {"event": name, **payload}}
    finally:
        sio.disconnect()
    return report


if __name__ == "__main__":
    import json
    import sys

    url, token, parser, *paths = sys.argv[1:]
    images = [open(p, "rb").read() for p in paths]
    print(json.dumps(session(url, token, parser, images)))
