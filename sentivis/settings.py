"""Every setting of every service, read once from SENTIVIS_* environment variables.

`get_settings()` is the one place that reads the environment; services call it at start-up
and pass the values on. Each field carries its meaning, and docs/CONFIGURATION.md's table is
generated from them (`sentivis config --docs`; tests/docs checks the page is current).

    sentivis config              each variable and the value this environment gives it
    sentivis config --markdown   the table of docs/CONFIGURATION.md
    sentivis config --docs       rewrite that table in docs/CONFIGURATION.md
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from functools import lru_cache
from pathlib import Path

from sentivis.errors import SentivisError

REPO_ROOT = Path(__file__).resolve().parent.parent
SHIPPED_MODEL = REPO_ROOT / "classifier" / "models" / "emotion-net.onnx"


class SettingsError(SentivisError, ValueError):
    """A SENTIVIS_* variable that cannot be used; the message names it."""


def setting(default, meaning: str, *, section: str | None = None):
    """A Settings field with its documentation. meaning: what it does, for docs/CONFIGURATION.md
    (Markdown, links relative to docs/); section: the heading of the group this field starts."""
    return field(default=default, metadata={"meaning": meaning, "section": section})


def env_name(name: str) -> str:
    """The environment variable of Settings field `name`."""
    return f"SENTIVIS_{name.upper()}"


@dataclass(frozen=True)
class Settings:
    """Every setting; each field is SENTIVIS_<NAME> and carries its meaning (see `setting`)."""

    redis_url: str = setting(
        "redis://127.0.0.1:6379/0",
        "the Redis every service uses (`make up` starts a private one and sets this); with sentinels, "
        "only its user, password and database number apply", section="Redis")
    redis_sentinels: tuple[str, ...] = setting(
        (), "comma-separated `host:port` of Redis Sentinels: every service (and Celery) asks them for the "
            "master and follows a failover without a restart ([DEPLOY.md](DEPLOY.md#docker-swarm)); "
            "empty: no sentinels")
    redis_master_name: str = setting("sentivis", "the master's name at the sentinels")
    stream_maxlen: int = setting(1000, "approximate `MAXLEN` of every stream: none grows without bound")
    gateway_host: str = setting(
        "127.0.0.1", "address the gateway listens on; a non-loopback address needs `SENTIVIS_AUTH_TOKEN` "
                     "(or `SENTIVIS_ALLOW_UNAUTHENTICATED=1`)", section="Gateway")
    gateway_port: int = setting(5001, "its port; change it to run two stacks side by side")
    cors_origins: tuple[str, ...] = setting(
        (), "comma-separated origins allowed to open Socket.IO and call the API from another site; "
            "empty: same origin only")
    max_in_flight: int = setting(
        2, "frames per connection between receive and emit; more are dropped (`too_many_in_flight`)")
    frame_timeout_ms: int = setting(
        3000, "a frame without a result after this long is given up (`timeout`)")
    # admission: gateway/admission.py
    admission_wait_ms: int = setting(
        100, "admission: a frame that would wait longer than this behind the frames in flight (every "
             "gateway's, at the workers' measured rate) is refused before it is queued (`overloaded`); "
             "above that budget each connection still gets its fair share of the rate; `0`: off")
    admission_min_frames: int = setting(
        8, "a backlog of frames in flight (every gateway's) that is always admitted, whatever the measured "
           "rate (keeps the workers busy while the rate is measured)")
    ready_max_ms: float = setting(
        250.0, "`/readyz` says ready only while the gateway's probe frame (a real face, sent through the whole "
               "pipeline every few seconds) comes back within this many milliseconds, three times in a row")
    max_frame_bytes: int = setting(
        1_000_000, "bytes per frame, checked before any decode (`frame_too_large`)")
    max_message_bytes: int = setting(
        16_000_000, "Socket.IO transport limit per message: bigger messages close the connection (memory "
                    "safety); between the frame limit and this, the frame gets `frame_too_large`")
    max_frame_pixels: int = setting(
        1920 * 1200, "pixels per frame, read from the JPEG header before any decode (`image_too_large`)")
    max_frames_per_second: float = setting(
        30.0, "frames per second per connection (token bucket, 1 s burst); more are dropped "
              "(`rate_limited`); `0`: no limit")
    max_connections: int = setting(
        2000, "Socket.IO connections one gateway holds; past it a new client is refused at connect "
              "(`server_full`), while health and metrics keep answering ([CAPACITY.md](CAPACITY.md))")
    max_connections_per_address: int = setting(
        20, "Socket.IO connections per client address; more are refused at connect "
            "(`too_many_connections`); `0`: no limit. Behind the product's own proxy the address is the "
            "client's, as the proxy reports it (`SENTIVIS_TRUSTED_PROXIES`)")
    trusted_proxies: tuple[str, ...] = setting(
        (), "comma-separated addresses, networks (`10.0.0.0/8`) or host names of the reverse proxies whose "
            "`X-Forwarded-For` is believed: a connection from one of them counts against the limits as the "
            "client the header names; from anyone else the header is ignored. Compose, Swarm and Kubernetes "
            "set it to their proxy; empty: no proxy is trusted")
    auth_token: str = setting(
        "", "shared secret: Socket.IO clients send `auth={\"token\": ...}`, REST clients `Authorization: "
            "Bearer ...`; `/healthz` and the app's static files stay open; empty: no auth "
            "([SECURITY.md](SECURITY.md))")
    allow_unauthenticated: int = setting(
        0, "`1` lets the gateway listen on a non-loopback address without a token (else it refuses to start)")
    frontend_dir: str = setting(str(REPO_ROOT / "frontend" / "dist"), "the built browser app the gateway serves")
    # face tracking and smoothing (sentivis.tracking.TrackerConfig), per connection, upload and analysed file
    track_max_absence_s: float = setting(
        2.0, "a person hidden or out of view up to this long comes back with their id (later: a new id); "
             "also used by `sentivis analyze`, in video time ([TRACKING.md](TRACKING.md))")
    track_max_people: int = setting(
        32, "people the tracker remembers per connection (or video), in view or not; the longest absent "
            "are forgotten first")
    smoothing_s: float = setting(
        0.155, "time constant of each person's emotion average, in seconds (`0`: no smoothing)")
    label_hysteresis: float = setting(
        0.1, "how far another emotion's smoothed probability must lead the label shown to replace it "
             "(`0`: the most probable, every frame)")
    # Older frames are acknowledged and dropped, not processed late: a live overlay 150 ms behind is
    # stale, and under overload this bounds the round trip of the frames that are answered (benchmarks/).
    max_frame_age_ms: int = setting(
        150, "frames older than this when a detector picks them up are acknowledged and dropped "
             "(`expired`), never processed late: under overload this keeps answered frames fresh",
        section="Detector")
    superseded_after_ms: int = setting(
        100, "a frame this old whose connection already has a newer frame waiting is dropped (`expired`)")
    detector_threads: int = setting(
        2, "frames one detector replica works on at once, each on its own MediaPipe graph (MediaPipe "
           "releases the GIL, so one replica can use several cores under load)")
    detector_min_score: float = setting(0.5, "least detector confidence for a face")
    detector_model: int = setting(
        0, "MediaPipe BlazeFace model: `0` short range (faces within ~2 m), `1` full range (~5 m, slower)")
    face_margin: float = setting(
        0.1, "margin added around the face box for the crop, as a fraction of its size")
    face_shift: float = setting(
        0.1, "the crop's centre moves up by this fraction of the box height (FER-2013 faces are framed "
             "brow to chin)")
    max_faces: int = setting(10, "most faces per frame (the highest scores)")
    claim_idle_ms: int = setting(2000, "messages pending this long on a dead replica are claimed by a live one")
    emotion_weights: str = setting(
        str(SHIPPED_MODEL), "the emotion model file; missing means \"Not loaded\", never a crash; a version "
                            "activated in the registry takes precedence", section="Classifier")
    classifier_batch: int = setting(64, "most faces per ONNX Runtime run")
    ort_threads: int = setting(1, "ONNX Runtime threads per classifier (add replicas rather than threads)")
    model_poll_s: float = setting(1.0, "how often classifiers look for a new model version or a changed file")
    datasets_dir: str = setting(
        str(REPO_ROOT / "datasets"), "training jobs may read data only below this folder", section="Trainer")
    models_dir: str = setting(
        str(REPO_ROOT / "artifacts" / "models"),
        "where training jobs export their models; classifiers load registered models from their bytes in "
        "Redis, so it needs no shared disk")
    database_url: str = setting(
        "", "the database of recorded sessions (SQLAlchemy URL): `postgresql://user:password@host/db` or "
            "`sqlite:////path/file.db`; empty: SQLite in `data/sentivis.db` in the repository. The gateway "
            "and the recorder migrate it at start ([PRIVACY.md](PRIVACY.md))", section="Recorded sessions")
    records_max_backlog: int = setting(
        200_000, "records waiting in `{sentivis}:records` for the recorder (a database that is down or slow) "
                 "past which gateways stop appending and mark the sessions with a gap instead "
                 "([ARCHITECTURE.md](ARCHITECTURE.md#recorded-sessions) says how long that lasts)")
    recorder_batch: int = setting(
        256, "records one recorder reads and writes in one database transaction")
    session_retention_days: float = setting(
        0, "recorded sessions older than this many days are deleted by the recorder (checked every minute); "
           "`0`: kept until deleted")
    heartbeat_s: float = setting(
        1.0, "heartbeat interval of detectors and classifiers (`/readyz` counts them); a heartbeat lives "
             "3 intervals", section="Every service")
    read_count: int = setting(16, "messages read per `XREADGROUP`")
    block_ms: int = setting(200, "how long a read waits for new messages")
    log_level: str = setting("INFO", "log level")
    consumer_name: str = setting(
        "", "the replica's consumer name in its group; empty: the service, host name and pid")

_PARSERS = {int: int, float: float, str: str}


def _parse(name: str, raw: str, default):
    if isinstance(default, tuple):
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    try:
        return _PARSERS[type(default)](raw)
    except ValueError:
        raise SettingsError(f"{env_name(name)}={raw!r} is not a valid {type(default).__name__}") from None


def settings_from_env(env: dict[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    values = {}
    for f in fields(Settings):
        raw = env.get(env_name(f.name))
        if raw is not None and raw != "":
            values[f.name] = _parse(f.name, raw, f.default)
    return Settings(**values)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return settings_from_env()


def consumer_name(settings: Settings, service: str) -> str:
    import socket

    return settings.consumer_name or f"{service}-{socket.gethostname()}-{os.getpid()}"


# docs/CONFIGURATION.md: the table between these markers is generated from the fields above.
CONFIG_DOC = REPO_ROOT / "docs" / "CONFIGURATION.md"
DOC_BEGIN = "<!-- BEGIN settings: generated from sentivis/settings.py by `sentivis config --docs`; edit there -->"
DOC_END = "<!-- END settings -->"


def shown_default(default) -> str:
    """A default as the docs show it: paths inside the repository relative to it, empty as "empty"."""
    if default in ("", ()):
        return "empty"
    if isinstance(default, tuple):
        return f"`{','.join(default)}`"
    text = str(default)
    if isinstance(default, str) and text.startswith(str(REPO_ROOT) + os.sep):
        text = Path(text).relative_to(REPO_ROOT).as_posix()
    return f"`{text}`"


def markdown_table() -> str:
    """Every setting as a Markdown table: variable, default, meaning, under its section's heading.
    Raises SettingsError for a field declared without `setting()` (it would go undocumented)."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for f in fields(Settings):
        meaning = f.metadata.get("meaning")
        if not meaning:
            raise SettingsError(f"Settings.{f.name} has no meaning: declare it with setting(default, meaning)")
        if f.metadata["section"]:
            rows.append(f"| **{f.metadata['section']}** | | |")
        rows.append(f"| `{env_name(f.name)}` | {shown_default(f.default)} | {meaning.replace('|', '&#124;')} |")
    return "\n".join(rows) + "\n"


def render_doc(text: str) -> str:
    """`text` (docs/CONFIGURATION.md) with the generated table between DOC_BEGIN and DOC_END made
    current. Raises SettingsError when the markers are missing."""
    head, begin, rest = text.partition(DOC_BEGIN + "\n")
    _, end, tail = rest.partition(DOC_END)
    if not begin or not end:
        raise SettingsError(f"{CONFIG_DOC.name} lacks the lines {DOC_BEGIN!r} and {DOC_END!r}")
    return head + begin + markdown_table() + end + tail


def main(argv: list[str] | None = None, prog: str = "python -m sentivis.settings") -> int:
    """`sentivis config`: each variable and the value this environment gives it (2 for an invalid
    one), or with --markdown the table, or with --docs that table rewritten in docs/CONFIGURATION.md."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(prog=prog, description="Sentivis's settings (SENTIVIS_* variables).")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--markdown", action="store_true", help="print the table of docs/CONFIGURATION.md")
    mode.add_argument("--docs", action="store_true", help="rewrite that table in docs/CONFIGURATION.md")
    args = parser.parse_args(argv)
    if args.markdown:
        print(markdown_table(), end="")
        return 0
    if args.docs:
        text = CONFIG_DOC.read_text()
        CONFIG_DOC.write_text(render_doc(text))
        print(f"wrote {CONFIG_DOC}")
        return 0
    try:
        current = settings_from_env()
    except SettingsError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2
    for f in fields(Settings):
        value = getattr(current, f.name)
        source = "set" if os.environ.get(env_name(f.name)) else "default"
        print(f"{env_name(f.name)}={','.join(value) if isinstance(value, tuple) else value}  ({source})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
