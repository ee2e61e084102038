"""`sentivis up` (`make up`): the whole product as local processes, until Ctrl-C."""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import threading
import time

from sentivis.settings import get_settings
from toolkit.processes import REDIS_MISSING, get_json, port_in_use, say
from toolkit.stack import Stack


def _announce(stack: Stack, host: str, token: str) -> None:
    """Print the URL once the gateway says it is ready: warm, a frame sent now is answered at once."""
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{stack.port}/"
    deadline = time.monotonic() + 120
    status: object = None
    while time.monotonic() < deadline and not stack.stopping.is_set():
        try:
            code, status = get_json(url + "readyz", timeout=2, token=token or None)
        except OSError:
            code = None
        if code == 200:
            say("sentivis", f"Sentivis is running at {url}  (Ctrl-C to stop)")
            return
        time.sleep(0.3)
    if not stack.stopping.is_set():
        say("sentivis", f"the gateway at {url} was not ready within 120 s ({status}); see the logs above")


def main(argv: list[str] | None = None, prog: str = "sentivis up") -> int:
    parser = argparse.ArgumentParser(
        prog=prog, description="Run the whole stack as local processes: a private redis-server (unless "
                               "SENTIVIS_REDIS_URL or SENTIVIS_REDIS_SENTINELS is set), the gateway, the "
                               "detector(s), the classifier(s), the recorder(s) and the training worker. "
                               "Restarts a process that dies; Ctrl-C stops everything.")
    parser.add_argument("--detectors", type=int, default=1, help="detector processes (default 1)")
    parser.add_argument("--classifiers", type=int, default=1, help="classifier processes (default 1)")
    parser.add_argument("--recorders", type=int, default=1,
                        help="recorder processes: recorded sessions into SENTIVIS_DATABASE_URL (default 1)")
    parser.add_argument("--no-trainer-worker", dest="trainer_worker", action="store_false",
                        help="do not start the Celery training worker")
    args = parser.parse_args(argv)
    settings = get_settings()
    redis_url = os.environ.get("SENTIVIS_REDIS_URL") or None
    external = redis_url is not None or bool(settings.redis_sentinels)  # a given Redis, or given sentinels
    if not external and shutil.which("redis-server") is None:
        raise SystemExit(REDIS_MISSING)
    if port_in_use(settings.gateway_host, settings.gateway_port):
        raise SystemExit(f"port {settings.gateway_port} is in use: stop what runs there or set SENTIVIS_GATEWAY_PORT")
    stack = Stack(args.detectors, args.classifiers, args.trainer_worker, redis=not external, redis_url=redis_url,
                  gateway_port=settings.gateway_port, recorders=args.recorders)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stack.stopping.set())
    stack.start()
    threading.Thread(target=_announce, args=(stack, settings.gateway_host, settings.auth_token), daemon=True).start()
    stack.supervise()
    say("sentivis", "stopping")
    stack.stop()
    return 0
