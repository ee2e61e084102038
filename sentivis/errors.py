"""Sentivis's errors: one root, and every code a client is given, in one place.

`SentivisError` is the root of the project's own exceptions (as redis-py's `RedisError` is of
its): `except SentivisError` catches any of them and nothing of a library's. Each class names what
went wrong in its message; those whose kind a client is told carry a `code`, a key of one of the
tables below, which docs/PROTOCOL.md and docs/API.md list (tests/docs checks they match). A class
keeps a standard base beside the root where callers rely on it (a bad setting is a ValueError).
"""
from __future__ import annotations

# `frame_error` codes: a frame that was refused, dropped or could not be processed (docs/PROTOCOL.md).
FRAME_ERRORS = {
    "invalid_payload": "the frame event must be an object with frame_id and image",
    "invalid_frame_id": "frame_id must be a non-negative integer",
    "missing_image": "the frame has no image",
    "invalid_image_type": "image must be binary JPEG bytes",
    "empty_image": "the image is empty",
    "frame_too_large": "the image is larger than the byte limit",
    "not_jpeg": "the image is not a JPEG",
    "image_too_large": "the image has more pixels than the limit",
    "duplicate_frame_id": "a frame with this frame_id is already in flight",
    "too_many_in_flight": "too many frames in flight for this connection; frame dropped",
    "overloaded": "the server is overloaded and cannot serve this frame in time; frame dropped, send fewer",
    "rate_limited": "the connection sends more frames per second than the limit; frame dropped",
    "decode_failed": "the JPEG could not be decoded",
    "expired": "the frame waited too long in the queue and was dropped",
    "timeout": "no result arrived in time; the frame was given up",
    "unavailable": "the processing backend is unavailable",
    "internal_error": "the frame could not be processed",
    "unknown_event": "the gateway takes no such event from a client",
}

# `session_error` codes: a session_start or session_stop that is refused (docs/PROTOCOL.md).
SESSION_ERRORS = {
    "invalid_session_name": "session_start needs {\"name\": ...}: 1 to 200 characters, no control characters",
    "already_recording": "this connection is already recording a session; stop it first",
    "not_recording": "this connection is not recording a session",
    "unknown_session": "that is not this connection's session",
    "recording_unavailable": "sessions cannot be recorded now (Redis, a recorder or the database is unavailable)",
}

# Connect refusals: the connect error's message starts with the code, its data is {"code": ...}.
CONNECT_REFUSALS = {
    "unauthorized": "connect with auth={'token': SENTIVIS_AUTH_TOKEN}",
    "server_full": "this gateway holds all the connections it can; try again later",
    "too_many_connections": "too many connections from this address",
    "wrong_parser": "this endpoint speaks the other parser",
}


class SentivisError(Exception):
    """The root of Sentivis's own errors. code: for an error a client is told, its code."""

    code: str | None = None


class CodedError(SentivisError):
    """An error a client is told as a code from `table` and a message (the table's, unless given)."""

    table: dict[str, str] = {}

    def __init__(self, code: str, message: str | None = None):
        if code not in self.table:
            raise KeyError(f"{type(self).__name__}: no code {code!r}")
        self.code = code
        self.message = message or self.table[code]
        super().__init__(self.message)
