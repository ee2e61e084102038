"""Redis helpers shared by the services: the one place clients are made, consumer groups, XADD, heartbeats.

The stream worker's loop (claim, read, backoff) is sentivis/worker.py.
"""
from __future__ import annotations

import json
from typing import Any

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from sentivis import streams
from sentivis.protocol import FrameMessage, encode


def connect(url: str, timeout: float | None = None, retries: int = 3) -> redis.Redis:
    """A client that returns bytes (payloads are binary) and retries a lost connection `retries`
    times with backoff; `timeout` bounds connecting and each reply (None: no bound). Every
    service and tool makes its clients here."""
    return redis.Redis.from_url(
        url, decode_responses=False, socket_keepalive=True, health_check_interval=10,
        socket_timeout=timeout, socket_connect_timeout=timeout,
        retry=Retry(ExponentialBackoff(cap=2.0, base=0.05), retries=retries),
        retry_on_error=[redis.ConnectionError, redis.TimeoutError],
    )


def ensure_group(client: redis.Redis, stream: str, group: str) -> None:
    """Create the consumer group (and the stream) if missing; start with new messages."""
    try:
        client.xgroup_create(stream, group, id="$", mkstream=True)
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


def add(client: redis.Redis | Any, stream: str, message: FrameMessage, data: bytes, maxlen: int,
        create: bool = True) -> None:
    """XADD with an approximate MAXLEN trim, so no stream grows without bound."""
    client.xadd(stream, encode(message, data), maxlen=maxlen, approximate=True, nomkstream=not create)


def send_result(client: redis.Redis | Any, message: FrameMessage, maxlen: int) -> None:
    """To the gateway's own result stream; a gone gateway's stream has expired and stays gone."""
    add(client, streams.results_stream(message.gateway), message, b"", maxlen, create=False)


def heartbeat(client: redis.Redis, service: str, consumer: str, info: dict[str, Any], ttl_s: float) -> None:
    """A replica's liveness: a JSON key that expires unless it is written again within ttl_s."""
    client.set(streams.heartbeat_key(service, consumer), json.dumps(info), px=int(ttl_s * 1000))


def live_services(client: redis.Redis, service: str) -> list[dict[str, Any]]:
    """The heartbeats of the live replicas of one service."""
    keys = list(client.scan_iter(match=f"{streams.HEARTBEAT_PREFIX}{service}:*", count=100))
    if not keys:
        return []
    return [json.loads(v) for v in client.mget(keys) if v is not None]
