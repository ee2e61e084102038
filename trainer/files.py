"""Atomic file output: write beside the target under a hidden temporary name, then rename.

A reader (the classifier's hot reload, a person copying the folder) never sees half a file,
and a failed step leaves nothing behind.
"""
from __future__ import annotations

import hashlib
import json
import os
import uuid
from pathlib import Path


def temp_path_for(path: Path) -> Path:
    """A hidden sibling ending in .tmp, so nothing matching *.onnx or *.json picks it up early."""
    return path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")


class StagedFiles:
    """Several files that appear together: stage each, then commit() renames them in order.

    Use as a context manager: anything left uncommitted (an exception on the way) is removed.
    """

    def __init__(self) -> None:
        self._staged: list[tuple[Path, Path]] = []

    def stage(self, path: str | Path) -> Path:
        path = Path(path)
        temp = temp_path_for(path)
        self._staged.append((temp, path))
        return temp

    def commit(self) -> None:
        for temp, path in self._staged:
            os.replace(temp, path)
        self._staged.clear()

    def discard(self) -> None:
        for temp, _ in self._staged:
            temp.unlink(missing_ok=True)
        self._staged.clear()

    def __enter__(self) -> "StagedFiles":
        return self

    def __exit__(self, *exc_info) -> None:
        self.discard()


def write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n", encoding="utf-8")


def file_sha256(path: str | Path) -> str:
    """The hex sha256 of a file's bytes (model cards and teacher files)."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()
