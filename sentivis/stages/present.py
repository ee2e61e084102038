"""The present stage: a worker's answer to a frame -> the `inference` event a client gets.

`present` (sentivis/stages/__init__.py has the whole journey): the faces go through the session's
PersonTracker (each becomes a person with an id, their emotion smoothed over time; the appearance
vectors stay here), the models that answered are named (the emotion model's absence too, so the
page shows "Not loaded"), and the stamps become the per-stage latency.
"""
from __future__ import annotations

from sentivis.protocol import NOT_LOADED, FrameMessage, Inference, Models, latency
from sentivis.tracking.tracker import PersonTracker


def present(tracker: PersonTracker, message: FrameMessage, dropped_frames: int, emitted_at: float,
            timestamp_ms: float | None = None) -> Inference:
    """The event for `message`, a worker's answer without an error. timestamp_ms: the frame's time
    on the tracker's clock (default: when the gateway received it). Raises ValueError for a face the
    tracker cannot use."""
    when = message.received_at * 1000.0 if timestamp_ms is None else timestamp_ms
    faces = tracker.update(message.faces, timestamp_ms=when)
    models = Models(detector=message.models.detector, emotion=message.models.emotion or NOT_LOADED)
    return Inference(message.frame_id, message.width, message.height, faces, models,
                     latency(message, emitted_at), dropped_frames)
