"""`sentivis analyze PATH... [--output DIR] [--every N] [--max-faces K] [--url URL]`.

Exit status: 0 when every file was analysed, 1 when any file failed (the others are still
analysed), 2 for a usage error or when the analysis cannot start (no model, no gateway).
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from analyzer.inputs import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, Input, InputError, expand
from sentivis.records import MAX_SESSION_NAME, SessionRefused, check_session_name
from sentivis.settings import SettingsError, get_settings
from sentivis.tracking.config import TrackerConfig

PROG = "sentivis analyze"


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    analyze = argparse.ArgumentParser(
        prog=prog,
        description="Find the faces in image and video files and read their emotions. For each file, "
                    "writes frames.csv and frames.json (one entry per face per analysed frame), an annotated "
                    "image (annotated.png) or video (annotated.mp4) and, for videos, timeline.png.",
        epilog=f"images: {' '.join(IMAGE_EXTENSIONS)}; videos: {' '.join(VIDEO_EXTENSIONS)}. The emotion model "
               "is the shipped one unless SENTIVIS_EMOTION_WEIGHTS names another.")
    analyze.add_argument("paths", nargs="+", metavar="PATH", help="image or video files, or folders of them")
    analyze.add_argument("--output", "-o", type=Path, default=Path("sentivis-analysis"), metavar="DIR",
                         help="where the results go, one folder per file (default: %(default)s)")
    analyze.add_argument("--every", type=positive_int, default=1, metavar="N",
                         help="analyse every Nth frame of a video (default: every frame)")
    analyze.add_argument("--max-faces", type=positive_int, default=None, metavar="K",
                         help="at most K faces per frame, the most confident (default: SENTIVIS_MAX_FACES, 10)")
    analyze.add_argument("--url", default=None, metavar="URL",
                         help="send each frame to the gateway at URL (POST /api/v1/analyze) instead of "
                              "running the models here, e.g. http://127.0.0.1:5001 (SENTIVIS_AUTH_TOKEN, "
                              "when set, is sent as the bearer token)")
    analyze.add_argument("--session", default=None, metavar="NAME",
                         help="also keep each file's result as a recorded session named NAME (\"NAME: file\" for "
                              "several files) in the sessions database, SENTIVIS_DATABASE_URL, beside the live ones")
    analyze.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    return analyze


def error(path: str | Path, reason: str) -> None:
    print(f"{PROG}: error: {path}: {reason}", file=sys.stderr)


def output_dirs(items: list[Input], root: Path) -> list[Path]:
    """One folder per input, named after the file; a repeated name gets -2, -3, ..."""
    taken: set[str] = set()
    dirs = []
    for item in items:
        name, n = item.path.stem or "input", 1
        while (name if n == 1 else f"{name}-{n}") in taken:
            n += 1
        name = name if n == 1 else f"{name}-{n}"
        taken.add(name)
        dirs.append(root / name)
    return dirs


def make_engine(args: argparse.Namespace, settings):
    from analyzer.engines import LocalEngine, RemoteEngine  # heavy imports (MediaPipe, ONNX Runtime)

    max_faces = args.max_faces or settings.max_faces
    if args.url:
        return RemoteEngine(args.url, max_faces, token=settings.auth_token)
    return LocalEngine(settings, max_faces)


def session_names(name: str, items: list[Input]) -> list[str]:
    """The session of each file: NAME for one file, "NAME: file name" for several (cut to the limit)."""
    if len(items) == 1:
        return [name]
    return [f"{name}: {item.path.name}"[:MAX_SESSION_NAME] for item in items]


def open_database(settings):
    """The sessions database, migrated; DatabaseUnavailable when it cannot be reached."""
    from sentivis.sessions.db import Database  # SQLAlchemy and Alembic only when --session asks for them

    return Database.from_settings(settings).ready()


def analyze(args: argparse.Namespace) -> int:
    from analyzer.engines import EngineError, FrameFailed
    from analyzer.record import SessionWriter
    from analyzer.run import analyze_input
    from sentivis.sessions.db import DatabaseUnavailable

    try:
        settings = get_settings()
        TrackerConfig.from_settings(settings)  # a tracking setting out of range stops it here, not per file
        if args.session is not None:
            check_session_name({"name": args.session})
    except (SettingsError, SessionRefused) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    items, failures = expand(args.paths)
    for path, reason in failures:
        error(path, reason)
    if not items:
        return 1 if failures else 2
    try:
        database = open_database(settings) if args.session is not None else None
        engine = make_engine(args, settings)
    except (EngineError, DatabaseUnavailable) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    failed = len(failures)
    progress = not args.quiet and sys.stderr.isatty()
    names = session_names(args.session, items) if database is not None else [None] * len(items)
    try:
        for item, out_dir, name in zip(items, output_dirs(items, args.output), names, strict=True):
            session = SessionWriter(database, name, item.kind, settings) if name else None
            try:
                result = analyze_input(item, engine, out_dir, settings, args.every, progress, session)
            except (InputError, FrameFailed, OSError) as exc:
                error(item.path, str(exc))
                failed += 1
                if session is not None:
                    session.close("error")
                continue
            except EngineError as exc:  # the gateway went away: the files left would fail the same way
                error(item.path, str(exc))
                if session is not None:
                    session.close("error")
                return 2
            if session is not None:
                session.close("error" if result.problem else "stopped")
            ids = ", ".join(f"#{i}" for i in result.face_ids) or "none"
            kept = f" (session {session.session_id})" if session is not None else ""
            print(f"{item.path}: {result.frames} frame(s) analysed, {result.rows} face(s) found "
                  f"(ids {ids}) -> {out_dir}{os.sep}{kept}")
            if result.problem:
                error(item.path, result.problem)
                failed += 1
    finally:
        engine.close()
    return 1 if failed else 0


def main(argv: list[str] | None = None, prog: str = PROG) -> int:
    """`sentivis analyze ARGS` (toolkit/cli.py)."""
    args = build_parser(prog).parse_args(argv)
    # FFmpeg's own messages ("moov atom not found") would repeat our clearer error.
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    return analyze(args)
