"""Optional shared-secret authentication, and the refusal to serve openly without it.

With SENTIVIS_AUTH_TOKEN set, a Socket.IO connection must bring the token (the connect call's
auth={"token": ...}, a `token` query parameter or an `Authorization: Bearer` header) and every
REST endpoint must carry `Authorization: Bearer <token>`. /healthz stays open for liveness
probes (it tells only that the process runs), and so do the frontend's static files (they hold
no data; the app asks for the token). Without a token the gateway serves on loopback only.
"""
from __future__ import annotations

import hmac
import ipaddress
from typing import Any
from urllib.parse import parse_qs

from flask import Flask, jsonify, request

from sentivis.settings import Settings

OPEN_PATHS = ("/healthz",)
PROTECTED_PREFIXES = ("/api/", "/readyz", "/metrics")

EXPOSED_WITHOUT_TOKEN = """refusing to serve on {host} without authentication.
Anyone who can reach {host}:{port} could stream frames and use the API. Either
  - set SENTIVIS_AUTH_TOKEN to a long random secret (clients send it), or
  - bind to loopback only (SENTIVIS_GATEWAY_HOST=127.0.0.1, the default), or
  - accept the risk explicitly: SENTIVIS_ALLOW_UNAUTHENTICATED=1 (e.g. inside a container whose
    port is published on the host's loopback only)."""


class ExposureRefused(SystemExit):
    pass


def token_matches(expected: str, given: Any) -> bool:
    # compare_digest: the time taken does not tell how much of a guess was right.
    return isinstance(given, str) and hmac.compare_digest(given.encode(), expected.encode())


def bearer(header: str | None) -> str | None:
    if header and header[:7].lower() == "bearer ":
        return header[7:].strip()
    return None


def connect_token(auth: Any, environ: dict) -> str | None:
    """The token a Socket.IO client presented: auth payload, then query string, then header."""
    if isinstance(auth, dict) and auth.get("token") is not None:
        return auth.get("token")
    query = parse_qs(environ.get("QUERY_STRING", ""))
    if query.get("token"):
        return query["token"][0]
    return bearer(environ.get("HTTP_AUTHORIZATION"))


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: it may resolve to anything, so it counts as exposed
        return False


def check_exposure(settings: Settings) -> None:
    """Refuse (SystemExit) to listen on a non-loopback address without a token, unless allowed."""
    if settings.auth_token or settings.allow_unauthenticated or is_loopback(settings.gateway_host):
        return
    raise ExposureRefused(EXPOSED_WITHOUT_TOKEN.format(host=settings.gateway_host or "all interfaces",
                                                       port=settings.gateway_port))


def protect_rest(app: Flask, settings: Settings) -> None:
    """Every REST endpoint needs `Authorization: Bearer <token>` when a token is configured."""
    token = settings.auth_token
    if not token:
        return

    @app.before_request
    def require_token():
        path = request.path
        if path in OPEN_PATHS or not path.startswith(PROTECTED_PREFIXES):
            return None
        if token_matches(token, bearer(request.headers.get("Authorization"))):
            return None
        response = jsonify(error="unauthorized", message="send Authorization: Bearer <SENTIVIS_AUTH_TOKEN>")
        response.headers["WWW-Authenticate"] = 'Bearer realm="sentivis"'
        return response, 401
