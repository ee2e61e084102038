"""The real gateway process: auth, per-address limit, CORS, rate limit and the exposure rule."""
import time
import urllib.request

import pytest
import socketio

from tests.support.waiting import wait_for
from toolkit.client import FrameClient

TOKEN = "test-token-0123456789abcdef"
NOT_JPEG = b"GIF89a" + bytes(200)


def http_status(url: str, token: str | None = None) -> int:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def refusal(url: str, headers=None, **connect_kwargs) -> str | None:
    """None if the Socket.IO connection is accepted, else the reason the server gave."""
    sio = socketio.Client(reconnection=False)  # the default parser, on the default path
    reasons = []
    sio.on("connect_error", lambda data=None: reasons.append(data))
    try:
        sio.connect(url, transports=["websocket"], wait_timeout=10, headers=headers or {}, **connect_kwargs)
    except socketio.exceptions.ConnectionError as exc:
        reason = reasons[0] if reasons else str(exc)
        return reason.get("message", str(reason)) if isinstance(reason, dict) else str(reason)
    sio.disconnect()
    return None


def test_rest_needs_the_bearer_token_and_healthz_stays_open(start_gateway):
    url, _ = start_gateway(SENTIVIS_AUTH_TOKEN=TOKEN)
    assert http_status(url + "/healthz") == 200
    # With the token each answers as it would without auth (no worker runs, so /readyz is 503).
    with_token = {"/readyz": 503, "/metrics": 200, "/api/v1/models": 200, "/api/v1/training/options": 200,
                  "/api/v1/training-jobs/nope": 404}
    for path, status in with_token.items():
        assert http_status(url + path) == 401, path
        assert http_status(url + path, "wrong-token") == 401, path
        assert http_status(url + path, TOKEN) == status, path


def test_socketio_needs_the_token_in_auth_query_or_header(start_gateway):
    url, _ = start_gateway(SENTIVIS_AUTH_TOKEN=TOKEN)
    assert "unauthorized" in refusal(url)
    assert "unauthorized" in refusal(url, auth={"token": "wrong"})
    assert refusal(url, auth={"token": TOKEN}) is None
    assert refusal(url + f"?token={TOKEN}") is None
    assert refusal(url, headers={"Authorization": f"Bearer {TOKEN}"}) is None


def test_connections_over_the_per_address_limit_are_refused_with_a_reason(start_gateway):
    url, _ = start_gateway(SENTIVIS_MAX_CONNECTIONS_PER_ADDRESS="2")
    first, second = FrameClient(url), FrameClient(url)
    try:
        reason = refusal(url)
        assert reason and reason.startswith("too_many_connections") and "2 per address" in reason
        first.close()
        deadline = time.monotonic() + 5
        while refusal(url) is not None:  # the slot comes back once the server saw the disconnect
            assert time.monotonic() < deadline, "the closed connection's slot never came back"
            time.sleep(0.1)
    finally:
        second.close()


def test_a_forged_forwarded_header_gives_a_direct_client_no_extra_allowance(start_gateway):
    # A proxy is trusted, but this client is not it: its X-Forwarded-For is not read.
    url, _ = start_gateway(SENTIVIS_MAX_CONNECTIONS_PER_ADDRESS="2", SENTIVIS_TRUSTED_PROXIES="192.0.2.1")
    clients = [FrameClient(url, headers={"X-Forwarded-For": f"198.51.100.{i}"}) for i in range(2)]
    try:
        reason = refusal(url, headers={"X-Forwarded-For": "198.51.100.9"})
        assert reason and reason.startswith("too_many_connections") and "127.0.0.1" in reason
    finally:
        for c in clients:
            c.close()


def test_behind_a_trusted_proxy_each_client_counts_as_itself(start_gateway):
    # This test plays the proxy (loopback is trusted): it forwards 6 people, 3 of them from one address.
    url, _ = start_gateway(SENTIVIS_MAX_CONNECTIONS_PER_ADDRESS="2", SENTIVIS_TRUSTED_PROXIES="127.0.0.1")
    people = [FrameClient(url, headers={"X-Forwarded-For": f"1.2.3.4, 198.51.100.{i}"}) for i in range(5)]
    same = [FrameClient(url, headers={"X-Forwarded-For": "203.0.113.5"}) for _ in range(2)]
    try:
        reason = refusal(url, headers={"X-Forwarded-For": "203.0.113.5"})
        assert reason and reason.startswith("too_many_connections") and "203.0.113.5" in reason
    finally:
        for c in people + same:
            c.close()


def test_past_its_capacity_a_gateway_refuses_at_connect_and_keeps_answering_health(start_gateway):
    url, _ = start_gateway(SENTIVIS_MAX_CONNECTIONS="3")
    clients = [FrameClient(url) for _ in range(3)]
    try:
        sio = socketio.Client(reconnection=False)
        reasons = []
        sio.on("connect_error", lambda data=None: reasons.append(data))
        with pytest.raises(socketio.exceptions.ConnectionError):
            sio.connect(url, wait_timeout=10)
        assert reasons[0]["message"].startswith("server_full") and reasons[0]["data"] == {"code": "server_full"}
        assert http_status(url + "/healthz") == 200
        metrics = urllib.request.urlopen(url + "/metrics", timeout=5).read().decode()
        assert 'sentivis_connections_refused_total{reason="server_full"} 1.0' in metrics
        assert "sentivis_connections 3.0" in metrics
        clients.pop().close()
        deadline = time.monotonic() + 5
        while refusal(url) is not None:  # a place comes back once the server saw the disconnect
            assert time.monotonic() < deadline, "the closed connection's place never came back"
            time.sleep(0.1)
    finally:
        for c in clients:
            c.close()


def handshake_status(url: str, origin: str) -> int:
    """The Engine.IO handshake (HTTP long-polling) with this Origin header: 200 accepted, 400 refused."""
    request = urllib.request.Request(url + "/socket.io/?EIO=4&transport=polling", headers={"Origin": origin})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_a_foreign_origin_is_refused(start_gateway):
    url, _ = start_gateway()  # no allowlist: same origin only
    assert handshake_status(url, "http://evil.example") == 400
    assert handshake_status(url, url) == 200
    url, _ = start_gateway(SENTIVIS_CORS_ORIGINS="http://app.example")
    assert handshake_status(url, "http://app.example") == 200
    assert handshake_status(url, "http://evil.example") == 400
    assert refusal(url, headers={"Origin": "http://evil.example"}) is not None  # the websocket transport too


def test_a_flood_is_rate_limited_before_any_decode_and_others_are_unaffected(start_gateway):
    url, _ = start_gateway(SENTIVIS_MAX_FRAMES_PER_SECOND="10")
    flood, other = FrameClient(url), FrameClient(url)
    try:
        started = time.monotonic()
        for fid in range(300):  # not JPEGs: anything that reaches validation comes back not_jpeg
            flood.send(fid, NOT_JPEG)
        flood.wait_count(300, timeout=30)
        elapsed = time.monotonic() - started
        codes = [p["code"] for _, p in flood.events]
        allowed = 10 + 10 * elapsed + 1  # the burst plus the rate over the time it took
        assert codes.count("not_jpeg") <= allowed, (codes.count("not_jpeg"), elapsed)
        assert codes.count("rate_limited") >= 300 - allowed
        assert set(codes) == {"not_jpeg", "rate_limited"}
        assert {p["frame_id"] for _, p in flood.events} == set(range(300))
        other.send(1, NOT_JPEG)  # another connection has its own bucket
        assert other.wait_frame(1, timeout=10)[1]["code"] == "not_jpeg"
        # The bucket refills at the rate: once a token is back, the flooding connection's frames pass again.
        retries = iter(range(1000, 1200))

        def let_through() -> bool:
            frame_id = next(retries)
            flood.send(frame_id, NOT_JPEG)
            return flood.wait_frame(frame_id, timeout=10)[1]["code"] == "not_jpeg"

        wait_for(let_through, "a frame of the flooding connection let through again", 5)
    finally:
        flood.close()
        other.close()


def test_a_public_address_without_a_token_is_refused_at_start(start_gateway):
    _, service = start_gateway(wait=False, SENTIVIS_GATEWAY_HOST="0.0.0.0")
    service.proc.wait(timeout=30)
    assert service.proc.returncode != 0
    assert "refusing to serve on 0.0.0.0 without authentication" in service.log()
    start_gateway(SENTIVIS_GATEWAY_HOST="0.0.0.0", SENTIVIS_ALLOW_UNAUTHENTICATED="1")
    start_gateway(SENTIVIS_GATEWAY_HOST="0.0.0.0", SENTIVIS_AUTH_TOKEN=TOKEN)
