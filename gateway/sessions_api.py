"""REST API of recorded sessions under /api/v1/sessions: list, one session, its rows, delete.

Reads go to the sessions database (sentivis.sessions); sessions are written by the recorder, not
here. The rows of a session stream from the database in chunks (a server-side cursor on
PostgreSQL), never built in memory. A database that cannot be reached is a 503; the gateway
itself and its live path do not depend on it (the schema is migrated in the background at start).
docs/API.md, "Recorded sessions".
"""
from __future__ import annotations

import logging
import re
import threading
import time

from flask import Blueprint, Flask, Response, current_app, jsonify, request, stream_with_context
from werkzeug.routing import PathConverter

from gateway.recording import Recording
from sentivis.records import is_session_id
from sentivis.sessions import queries, store
from sentivis.sessions.db import UNAVAILABLE, Database, DatabaseUnavailable, reading, short_error
from sentivis.settings import Settings

log = logging.getLogger(__name__)
sessions_api = Blueprint("sessions", __name__, url_prefix="/api/v1/sessions")

DEFAULT_PAGE = 50
MIGRATE_RETRY_S = 5.0
_DIGITS = re.compile(r"[0-9]{1,6}")


class SessionRef(PathConverter):
    """A session id in a URL: any text, slashes too (so that each gets this API's 404, not the
    page's), except what ends in /frames (the rows' own route: its Allow header lists GET only)."""

    regex = "[^/].*?(?<!/frames)"


def init_sessions(app: Flask, settings: Settings, redis_client, gateway_id: str) -> Recording:
    """Serve the sessions API on `app` and start migrating the database in the background ->
    the gateway's Recording (app.extensions["sentivis"]["recording"] and ["database"] too)."""
    database = Database.from_settings(settings)
    recording = Recording(settings, redis_client, gateway_id=gateway_id)
    app.extensions.setdefault("sentivis", {}).update(database=database, recording=recording)
    app.url_map.converters["session_ref"] = SessionRef
    app.register_blueprint(sessions_api)
    app.register_error_handler(404, api_not_found)
    threading.Thread(target=_migrate, args=(database,), name="sessions-migrate", daemon=True).start()
    return recording


def _migrate(database: Database) -> None:
    """At start, without holding the gateway up; a database that is down is tried again."""
    while True:
        try:
            database.ready()
            return
        except DatabaseUnavailable as exc:
            log.warning("%s; trying again in %.0f s (the sessions API answers 503 meanwhile)", exc, MIGRATE_RETRY_S)
            time.sleep(MIGRATE_RETRY_S)


def api_not_found(exc):
    """A path under /api/ that no route takes (a session id with a newline, say): JSON, as the API's
    other errors; elsewhere Flask's own page."""
    if request.path.startswith("/api/"):
        if request.path.startswith(sessions_api.url_prefix + "/"):
            return error(404, "no such session", "unknown_session")
        return error(404, "not found", "not_found")
    return exc


def _engine():
    return current_app.extensions["sentivis"]["database"].ready()


def error(status: int, message: str, code: str):
    return jsonify(error=message, code=code), status


def database_unavailable(exc):
    log.warning("sessions API: %s", short_error(exc))
    return error(503, "the sessions database is unavailable; try again shortly", "database_unavailable")


for _unavailable in (DatabaseUnavailable, *UNAVAILABLE):
    sessions_api.register_error_handler(_unavailable, database_unavailable)


def _not_found(session_id: str):
    shown = session_id if len(session_id) <= 64 else session_id[:64] + "..."
    return error(404, f"no session {shown!r}", "unknown_session")


@sessions_api.get("", provide_automatic_options=False)
def list_sessions():
    """?limit=1..200 (50), ?before=<a session id, the previous page's `next`>: newest first."""
    raw_limit = request.args.get("limit", str(DEFAULT_PAGE))
    if not _DIGITS.fullmatch(raw_limit) or not 1 <= int(raw_limit) <= queries.MAX_PAGE:
        return error(400, f"limit must be a whole number from 1 to {queries.MAX_PAGE}, not {raw_limit[:20]!r}",
                     "invalid_parameter")
    before = request.args.get("before")
    if before is not None and not is_session_id(before):
        return error(400, "before must be a session id (32 hex digits): the `next` of the previous page",
                     "invalid_parameter")
    page, cursor = queries.list_sessions(_engine(), int(raw_limit), before)
    return jsonify(sessions=page, next=cursor)


@sessions_api.get("/<session_ref:session_id>", provide_automatic_options=False)
def get_session(session_id: str):
    found = queries.get_session(_engine(), session_id) if is_session_id(session_id) else None
    return jsonify(found) if found is not None else _not_found(session_id)


@sessions_api.get("/<session_id>/frames", provide_automatic_options=False)
def session_rows(session_id: str):
    """?format=csv (the page's download columns) or jsonl: one row per person per answered frame."""
    fmt = request.args.get("format", "csv")
    if fmt not in queries.FORMATS:
        return error(400, f"format must be one of {', '.join(queries.FORMATS)}, not {fmt[:20]!r}", "invalid_parameter")
    engine = _engine()
    with reading(engine.connect()) as connection:
        exists = is_session_id(session_id) and store.session_exists(connection, session_id)
    if not exists:
        return _not_found(session_id)
    rows = queries.stream_rows(engine, session_id, fmt)
    headers = {"Content-Disposition": f'attachment; filename="session-{session_id}.{fmt}"'}
    return Response(stream_with_context(rows), content_type=queries.FORMATS[fmt], headers=headers)


@sessions_api.delete("/<session_ref:session_id>", provide_automatic_options=False)
def delete_session(session_id: str):
    """Everything of the session: its rows, people, gaps, models and itself; 404 afterwards."""
    if not is_session_id(session_id):
        return _not_found(session_id)
    with _engine().begin() as connection:
        deleted = store.delete_session(connection, session_id, time.time())
    if not deleted:
        return _not_found(session_id)
    log.info("session %s deleted", session_id)
    return Response(status=204)
