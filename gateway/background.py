"""The gateway's background loops (result reader, frame timeouts, backlog sampler, readiness probe):
each runs `_run` on a daemon thread (a greenlet under gevent) until `stop()`, and checks `_stop`
between steps so that stopping takes at most one step."""
from __future__ import annotations

import threading


class BackgroundLoop:
    name = "background-loop"  # the thread's name, in tracebacks and py-spy

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        raise NotImplementedError
