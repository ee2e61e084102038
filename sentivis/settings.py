"""Every setting of every service, read once from SENTIVIS_* environment variables.

`get_settings()` is the one place that reads the environment; services call it at start-up
and pass the values on. The README's configuration table lists the same variables.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SHIPPED_MODEL = REPO_ROOT / "classifier" / "models" / "emotion-net.onnx"


class SettingsError(ValueError):
    pass


@dataclass(frozen=True)
class Settings:
    # Redis
    redis_url: str = "redis://127.0.0.1:6379/0"  # with sentinels: only its user, password and database apply
    # Redis Sentinel: the sentinels' "host:port" list; every client asks them for the master of
    # redis_master_name and follows a failover without a restart (sentivis.redis_io.connect)
    redis_sentinels: tuple[str, ...] = ()
    redis_master_name: str = "sentivis"
    stream_maxlen: int = 1000  # approximate MAXLEN of every stream
    # gateway
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 5001
    cors_origins: tuple[str, ...] = ()  # empty: same origin only
    max_in_flight: int = 2  # frames per connection between receive and emit
    frame_timeout_ms: int = 3000  # a frame in flight longer than this is given up, with a frame_error
    # Admission (gateway/admission.py): a frame that would wait longer than this behind the frames in
    # flight, at the workers' measured rate, is refused ("overloaded") before it is queued; 0: off
    admission_wait_ms: int = 100
    admission_min_frames: int = 8  # a backlog (frames in flight, every gateway's) always admitted
    max_frame_bytes: int = 1_000_000
    # Socket.IO transport limit per message. Frames between max_frame_bytes and this get a
    # frame_error; beyond it the transport itself closes the connection (memory safety).
    max_message_bytes: int = 16_000_000
    max_frame_pixels: int = 1920 * 1200
    max_frames_per_second: float = 30.0  # per connection (token bucket, 1 s burst); more are dropped; 0: no limit
    max_connections_per_address: int = 20  # Socket.IO connections per client IP; more are refused; 0: no limit
    auth_token: str = ""  # shared secret for Socket.IO and the REST API (/healthz stays open); empty: no auth
    allow_unauthenticated: int = 0  # 1: allow a non-loopback gateway_host without auth_token (else refused)
    frontend_dir: str = str(REPO_ROOT / "frontend" / "dist")
    # face tracking and smoothing (sentivis.tracking.TrackerConfig), per connection, upload and analysed file
    track_max_absence_s: float = 2.0  # a face out of view (hidden, or gone) up to this long comes back with its id
    track_max_people: int = 32  # people remembered per connection, in view or not
    smoothing_s: float = 0.155  # time constant of each person's emotion average (0: none)
    label_hysteresis: float = 0.1  # lead another emotion needs to replace the label shown
    # detector
    # Older frames are acknowledged and dropped, not processed late: a live overlay 150 ms behind is
    # stale, and under overload this bounds the round trip of the frames that are answered (benchmarks/).
    max_frame_age_ms: int = 150
    superseded_after_ms: int = 100  # a frame this old with a newer one of its connection waiting is dropped
    detector_threads: int = 2  # frames one detector replica works on at once (MediaPipe frees the GIL)
    detector_min_score: float = 0.5
    detector_model: int = 0  # MediaPipe model_selection: 0 short range (2 m), 1 full range (5 m)
    face_margin: float = 0.1  # margin around the detector box, as a fraction of its size, for the crop
    face_shift: float = 0.1  # crop centre moved up by this fraction of the box height (FER-2013 framing)
    max_faces: int = 10
    claim_idle_ms: int = 2000  # pending messages idle this long are claimed from a dead consumer
    # classifier
    emotion_weights: str = str(SHIPPED_MODEL)
    classifier_batch: int = 64  # most faces per ONNX Runtime run
    ort_threads: int = 1
    model_poll_s: float = 1.0
    # trainer
    datasets_dir: str = str(REPO_ROOT / "datasets")  # training jobs may only read data below this folder
    models_dir: str = str(REPO_ROOT / "artifacts" / "models")  # where training jobs export their models
    # every service
    heartbeat_s: float = 1.0
    read_count: int = 16  # messages per XREADGROUP
    block_ms: int = 200
    log_level: str = "INFO"
    consumer_name: str = ""  # default: host name and process id


_PARSERS = {int: int, float: float, str: str}


def _parse(name: str, raw: str, default):
    if isinstance(default, tuple):
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    try:
        return _PARSERS[type(default)](raw)
    except ValueError:
        raise SettingsError(f"SENTIVIS_{name.upper()}={raw!r} is not a valid {type(default).__name__}") from None


def settings_from_env(env: dict[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    values = {}
    for f in fields(Settings):
        raw = env.get(f"SENTIVIS_{f.name.upper()}")
        if raw is not None and raw != "":
            values[f.name] = _parse(f.name, raw, f.default)
    return Settings(**values)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return settings_from_env()


def consumer_name(settings: Settings, service: str) -> str:
    import socket

    return settings.consumer_name or f"{service}-{socket.gethostname()}-{os.getpid()}"
