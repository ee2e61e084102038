"""Redis helpers shared by the services: connection, consumer groups, heartbeats, backoff."""
from __future__ import annotations

import json
import logging
import time
from typing import Any, Iterator

import redis

from sentivis import streams
from sentivis.protocol import FrameMessage, encode

log = logging.getLogger(__name__)


def connect(url: str) -> redis.Redis:
    """A client that returns bytes (payloads are binary) and retries lost connections."""
    from redis.backoff import ExponentialBackoff
    from redis.retry import Retry

    return redis.Redis.from_url(
        url, decode_responses=False, socket_keepalive=True, health_check_interval=10,
        retry=Retry(ExponentialBackoff(cap=2.0, base=0.05), retries=3),
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


def read_group(client: redis.Redis, stream: str, group: str, consumer: str, count: int, block_ms: int,
               claim_idle_ms: int) -> list[tuple[bytes, dict[bytes, bytes]]]:
    """Messages for this consumer: first any left pending by a dead consumer, then new ones."""
    claimed = client.xautoclaim(stream, group, consumer, min_idle_time=claim_idle_ms, start_id="0-0", count=count)
    # redis-py returns [next_id, messages, deleted_ids] on Redis 7.
    messages = [m for m in claimed[1] if m[1]]
    if messages:
        return messages
    reply = client.xreadgroup(group, consumer, {stream: ">"}, count=count, block=block_ms)
    return reply[0][1] if reply else []


def heartbeat(client: redis.Redis, service: str, consumer: str, info: dict[str, Any], ttl_s: float) -> None:
    client.set(streams.heartbeat_key(service, consumer), json.dumps(info), px=int(ttl_s * 1000))


def live_services(client: redis.Redis, service: str) -> list[dict[str, Any]]:
    """The heartbeats of the live replicas of one service."""
    keys = list(client.scan_iter(match=f"{streams.HEARTBEAT_PREFIX}{service}:*", count=100))
    if not keys:
        return []
    return [json.loads(v) for v in client.mget(keys) if v is not None]


def retry_forever(what: str, max_delay_s: float = 5.0) -> Iterator[float]:
    """Backoff delays for a service loop that lost Redis: logs, sleeps and yields the delay."""
    delay = 0.1
    while True:
        log.warning("%s: Redis unavailable, retrying in %.1f s", what, delay)
        time.sleep(delay)
        yield delay
        delay = min(max_delay_s, delay * 2)
