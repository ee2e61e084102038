"""Analyse one input file with an engine: track faces across frames and write every output."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
from tqdm import tqdm

from analyzer import outputs
from analyzer.engines import Engine
from analyzer.inputs import Frame, Input, InputError, VideoReader, read_image
from analyzer.record import SessionWriter
from analyzer.timeline import plot_timeline
from sentivis.settings import Settings
from sentivis.tracking.config import TrackerConfig
from sentivis.tracking.tracker import PersonTracker

MIN_CLOCK_FPS = 30.0  # the tracker's clock: the page's fastest rate, or a faster video's own


@dataclass
class Result:
    source: Path
    out_dir: Path
    frames: int = 0  # analysed
    rows: int = 0  # faces over all analysed frames (CSV rows)
    face_ids: list[int] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    problem: str | None = None  # set when the file was only partly analysed


def new_tracker(settings: Settings, fps: float | None = None) -> PersonTracker:
    """The gateway's tracker, on a clock of at least the video's frame rate (fps; None: an image)."""
    return PersonTracker(TrackerConfig.from_settings(settings, fps=max(MIN_CLOCK_FPS, fps or 0.0)))


def analyze_frame(engine: Engine, tracker: PersonTracker, frame: Frame,
                  session: SessionWriter | None = None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """-> the frame's JSON record and its tracked face records (ids are the tracker's people);
    `session`: where the frame is also recorded."""
    tracked = tracker.update(engine.analyze(frame.rgb), timestamp_ms=frame.time_s * 1000.0)
    faces = [outputs.face_record(f) for f in tracked]
    if session is not None:
        height, width = frame.rgb.shape[:2]
        session.frame(frame.index, frame.time_s, width, height, tracked, engine.models)
    return {"frame_index": frame.index, "time_s": round(frame.time_s, 4), "faces": faces}, faces


def analyze_input(item: Input, engine: Engine, out_dir: Path, settings: Settings, every: int = 1,
                  progress: bool = True, session: SessionWriter | None = None) -> Result:
    """Raises InputError when the file cannot be read at all; a truncated video yields a partial
    result with `problem` set. session: where every analysed frame is also recorded."""
    if item.kind == "image":
        return _analyze_image(item, engine, out_dir, settings, session)
    return _analyze_video(item, engine, out_dir, settings, every, progress, session)


def _analyze_image(item: Input, engine: Engine, out_dir: Path, settings: Settings,
                   session: SessionWriter | None) -> Result:
    frame = Frame(0, 0.0, read_image(item.path))
    record, faces = analyze_frame(engine, new_tracker(settings), frame, session)
    out_dir.mkdir(parents=True, exist_ok=True)
    result = Result(item.path, out_dir, frames=1)
    annotated = out_dir / "annotated.png"
    outputs.save_image(annotated, outputs.annotate(frame.rgb, faces))
    height, width = frame.rgb.shape[:2]
    document = {"source": str(item.path), "kind": "image", "width": width, "height": height,
                "models": msgspec.to_builtins(engine.models), "frames": [record]}
    _write_tables(result, document, [record])
    result.files.append(annotated)
    return result


def _analyze_video(item: Input, engine: Engine, out_dir: Path, settings: Settings, every: int,
                   progress: bool, session: SessionWriter | None) -> Result:
    reader = VideoReader(item.path)
    info = reader.info
    out_dir.mkdir(parents=True, exist_ok=True)
    result = Result(item.path, out_dir)
    tracker = new_tracker(settings, info.fps)
    # Only analysed frames go into the video, at fps/every, so its timing matches the source.
    sink = outputs.VideoSink(out_dir / "annotated.mp4", info.fps / every)
    records = []
    expected = -(-info.frame_count // every) if info.frame_count else None
    bar = tqdm(total=expected, unit="frame", desc=item.path.name, disable=not progress, leave=False)
    try:
        for frame in reader.frames(every):
            record, faces = analyze_frame(engine, tracker, frame, session)
            records.append(record)
            sink.write(outputs.annotate(frame.rgb, faces))
            bar.update()
    finally:
        bar.close()
        sink.close()
        reader.close()
    result.frames = len(records)
    result.problem = reader.problem()
    if not records:
        raise InputError(result.problem)
    document = {"source": str(item.path), "kind": "video", "width": info.width, "height": info.height,
                "fps": info.fps, "frame_count": reader.seen, "every": every,
                "models": msgspec.to_builtins(engine.models),
                "frames": records}
    timeline = out_dir / "timeline.png"
    plot_timeline(timeline, records, item.path.name, frame_step_s=every / info.fps)
    _write_tables(result, document, records)
    result.files += [sink.path, timeline]
    return result


def _write_tables(result: Result, document: dict[str, Any], records: list[dict[str, Any]]) -> None:
    csv_path, json_path = result.out_dir / "frames.csv", result.out_dir / "frames.json"
    result.rows = outputs.write_csv(csv_path, records)
    outputs.write_json(json_path, document)
    result.face_ids = sorted({face["id"] for r in records for face in r["faces"]})
    result.files += [csv_path, json_path]
