"""Container health checks (compose `healthcheck:`), with no tools beyond the image's Python.

    python docker/healthcheck.py heartbeat detector   this container's replica has a live heartbeat
    python docker/healthcheck.py http URL             URL answers 200
    python docker/healthcheck.py redis -              Redis answers PING (the master the sentinels name, when set)

The trainer's Celery worker uses the redis check: with the solo pool it answers no remote
`celery inspect ping` while a training job runs, which would mark a busy worker unhealthy.

A replica names itself "<service>-<hostname>-<pid>" (sentivis.settings.consumer_name) and keeps
a heartbeat key in Redis that expires when it stops beating, so a live key means a live loop.
"""
from __future__ import annotations

import socket
import sys
import urllib.request


def heartbeat(service: str) -> bool:
    from sentivis import redis_io, streams
    from sentivis.settings import get_settings

    settings = get_settings()
    consumer = settings.consumer_name or f"{service}-{socket.gethostname()}-"
    pattern = redis_io.glob_escape(streams.heartbeat_key(service, consumer)) + ("" if settings.consumer_name else "*")
    client = redis_io.connect(settings, timeout=2, retries=0)
    return next(client.scan_iter(match=pattern, count=1000), None) is not None


def redis_ping(_: str) -> bool:
    from sentivis import redis_io
    from sentivis.settings import get_settings

    return bool(redis_io.connect(get_settings(), timeout=2, retries=0).ping())


def http(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=2) as response:
        return response.status == 200


def main(argv: list[str]) -> int:
    checks = {"heartbeat": heartbeat, "http": http, "redis": redis_ping}
    if len(argv) != 2 or argv[0] not in checks:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        healthy = checks[argv[0]](argv[1])
    except Exception as exc:  # noqa: BLE001 - any failure means unhealthy; say why in `docker inspect`
        print(f"unhealthy: {exc}", file=sys.stderr)
        return 1
    print("healthy" if healthy else "unhealthy")
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
