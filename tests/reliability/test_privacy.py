"""Frames and face crops are never written to disk or to logs, even at DEBUG level."""
import base64
import os
from pathlib import Path

from sentivis.settings import REPO_ROOT
from tests.support.processes import family, running
from tests.support.stack import stack_env
from tests.support.waiting import wait_for
from toolkit.client import FrameClient
from toolkit.samples import astronaut_frame, pasted_frame
from toolkit.stack import Stack

LONGEST_LOG_LINE = 2000  # a 48x48 crop is 2,304 bytes and a frame far more: neither fits in a line


def files_under(*roots: Path) -> set[str]:
    return {str(Path(d) / f) for root in roots for d, _, names in os.walk(root) for f in names}


def traces_of(image: bytes) -> list[bytes]:
    """Byte strings that would appear in a log that held the image: raw, repr-escaped, hex, base64."""
    out = []
    for start in (300, len(image) // 2, len(image) - 400):
        chunk = image[start:start + 30]
        out += [chunk, repr(chunk)[2:-1].encode(), chunk.hex().encode()]
        for shift in range(3):  # base64 of the whole image, whatever its alignment
            out.append(base64.b64encode(image[start + shift:start + shift + 30])[4:-4])
    return out


def test_frames_and_crops_reach_no_log_and_no_file_at_debug_level(redis_url, tmp_path):
    work, tmp, logs = tmp_path / "work", tmp_path / "tmp", tmp_path / "logs"
    for d in (work, tmp, logs):
        d.mkdir()
    stack = Stack(redis_url=redis_url, log_dir=logs, cwd=work,
                  env=stack_env(PYTHONPATH=str(REPO_ROOT), TMPDIR=str(tmp), SENTIVIS_LOG_LEVEL="DEBUG"))
    stack.start_ready(timeout=120)
    services = family(p.proc.pid for p in stack.processes.values())  # gunicorn's worker too
    client = None
    try:
        before = files_under(work, tmp)
        frames = [astronaut_frame()[0], pasted_frame()[0]]
        client = FrameClient(stack.url)
        for fid in range(20):
            client.send(fid, frames[fid % 2])
            name, event = client.wait_frame(fid, timeout=30)
            assert name == "inference" and event["faces"], event
        client.send(100, frames[0][: len(frames[0]) // 2])  # a bad frame's error path logs too
        assert client.wait_frame(100, timeout=30)[1]["code"] == "decode_failed"
        assert files_under(work, tmp) == before, "a service wrote files while streaming"
    finally:
        if client is not None:
            client.close()
        stack.stop()
    wait_for(lambda: not running(services), "every service process ended: none writes a log any more", 15)
    texts = {p.name: p.read_bytes() for p in logs.iterdir()}
    assert all(b"DEBUG" in text for text in texts.values()), "the services did not log at DEBUG"
    for name, text in texts.items():
        for image in frames:
            for trace in traces_of(image):
                assert trace not in text, f"{name} holds image bytes {trace[:20]!r}"
        longest = max(map(len, text.splitlines()))
        assert longest < LONGEST_LOG_LINE, f"{name} has a {longest}-byte log line"
    assert not files_under(work), "the services left files in their working directory"
