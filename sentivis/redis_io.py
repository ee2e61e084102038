"""Redis helpers shared by the services: the one place clients are made, consumer groups, XADD, heartbeats.

The stream worker's loop (claim, read, backoff) is sentivis/worker.py.

With SENTIVIS_REDIS_SENTINELS set, every client (redis-py's and Celery's) asks the sentinels for
the master of SENTIVIS_REDIS_MASTER_NAME: a connection lost in a failover is made again to the
master the sentinels name then (redis-py's SentinelConnectionPool), so no service needs a restart.
"""
from __future__ import annotations

import json
import re
import socket
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry
from redis.sentinel import Sentinel

from sentivis import streams
from sentivis.protocol import FrameMessage, encode
from sentivis.settings import Settings, SettingsError

# A sentinel answers in microseconds; one on a lost host must not stall finding the master.
SENTINEL_TIMEOUT_S = 2.0
# A peer whose host is gone sends no reset: keepalive probes after 5 s idle (a blocked read
# included) and a 10 s bound on unacknowledged writes turn that into a ConnectionError.
KEEPALIVE = {getattr(socket, name): value for name, value in
             (("TCP_KEEPIDLE", 5), ("TCP_KEEPINTVL", 2), ("TCP_KEEPCNT", 3), ("TCP_USER_TIMEOUT", 10_000))
             if hasattr(socket, name)}
_ADDRESS = re.compile(r"(?P<host>[^:\s]+):(?P<port>\d{1,5})")


# Seconds a loop that lost Redis waits before its n-th attempt in a row (redis-py's backoff object,
# `.compute(n)`): 0.1, 0.2, 0.4 ... at most 5. The stream workers and the gateway's result reader.
RECONNECT_BACKOFF = ExponentialBackoff(cap=5.0, base=0.05)


def connect(where: str | Settings, timeout: float | None = None, retries: int = 3) -> redis.Redis:
    """A client that returns bytes (payloads are binary) and retries a lost connection `retries`
    times with backoff; `timeout` bounds connecting and each reply (None: no bound). Every
    service and tool makes its clients here.

    where: a redis:// URL, or the settings: through their sentinels when they name any (the
    client follows a failover), else to their URL.
    """
    options = dict(decode_responses=False, socket_keepalive=True, socket_keepalive_options=KEEPALIVE,
                   health_check_interval=10, socket_timeout=timeout, socket_connect_timeout=timeout,
                   retry=Retry(ExponentialBackoff(cap=2.0, base=0.05), retries=retries),
                   retry_on_error=[redis.ConnectionError, redis.TimeoutError])
    if isinstance(where, str):
        return redis.Redis.from_url(where, **options)
    if not where.redis_sentinels:
        return redis.Redis.from_url(where.redis_url, **options)
    sentinels = Sentinel(sentinel_addresses(where), sentinel_kwargs={
        "socket_timeout": SENTINEL_TIMEOUT_S, "socket_connect_timeout": SENTINEL_TIMEOUT_S,
        "socket_keepalive": True, "socket_keepalive_options": KEEPALIVE})
    return sentinels.master_for(where.redis_master_name, **options, **master_credentials(where.redis_url))


def sentinel_addresses(settings: Settings) -> list[tuple[str, int]]:
    """SENTIVIS_REDIS_SENTINELS as (host, port) pairs; SettingsError for an entry that is not host:port."""
    addresses = []
    for entry in settings.redis_sentinels:
        match = _ADDRESS.fullmatch(entry)
        if match is None:
            raise SettingsError(f"SENTIVIS_REDIS_SENTINELS: {entry!r} is not host:port")
        addresses.append((match["host"], int(match["port"])))
    return addresses


def master_credentials(url: str) -> dict[str, Any]:
    """The user, password and database number of a redis:// URL: what still applies to the
    master the sentinels name."""
    parts = urlsplit(url)
    path = parts.path.strip("/")
    found = {"username": unquote(parts.username or ""), "password": unquote(parts.password or ""),
             "db": int(path) if path.isdigit() else 0}
    return {k: v for k, v in found.items() if v != ""}


def celery_connection(settings: Settings) -> dict[str, Any]:
    """Celery settings for the broker and the result backend on the settings' Redis: kombu's and
    Celery's sentinel transports when sentinels are set (they follow a failover too)."""
    if not settings.redis_sentinels:
        return {"broker_url": settings.redis_url, "result_backend": settings.redis_url}
    creds = master_credentials(settings.redis_url)
    auth = ""
    if "password" in creds:
        auth = f"{quote(creds.get('username', ''), safe='')}:{quote(creds['password'], safe='')}@"
    url = ";".join(f"sentinel://{auth}{host}:{port}/{creds['db']}" for host, port in sentinel_addresses(settings))
    options = {"master_name": settings.redis_master_name,
               "sentinel_kwargs": {"socket_timeout": SENTINEL_TIMEOUT_S, "socket_connect_timeout": SENTINEL_TIMEOUT_S}}
    return {"broker_url": url, "result_backend": url, "broker_transport_options": options,
            "result_backend_transport_options": options}


def glob_escape(text: str) -> str:
    """`text` matched literally in a SCAN MATCH pattern (Redis globs treat * ? [ ] \\ specially; braces
    are plain characters, so the hash tag needs no escaping)."""
    return re.sub(r"([*?\[\]\\])", r"\\\1", text)


def ensure_group(client: redis.Redis, stream: str, group: str, start: str = "$") -> None:
    """Create the consumer group (and the stream) if missing; start with new messages ("$"), or
    with every message in the stream ("0")."""
    try:
        client.xgroup_create(stream, group, id=start, mkstream=True)
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
    keys = list(client.scan_iter(match=glob_escape(streams.heartbeat_key(service, "")) + "*", count=100))
    if not keys:
        return []
    return [json.loads(v) for v in client.mget(keys) if v is not None]
