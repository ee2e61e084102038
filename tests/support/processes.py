"""Whether processes a test started (and theirs) have ended, for waiting on it rather than sleeping."""
from __future__ import annotations

from typing import Iterable

import psutil


def family(pids: Iterable[int]) -> list[psutil.Process]:
    """The processes `pids` and all their descendants, as they are now."""
    out = []
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            out += [proc, *proc.children(recursive=True)]
        except psutil.NoSuchProcess:
            pass
    return out


def running(processes: Iterable[psutil.Process]) -> list[psutil.Process]:
    """Those of `processes` still running; a zombie (ended, not yet reaped by its parent) does nothing."""
    out = []
    for proc in processes:
        try:
            if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                out.append(proc)
        except psutil.NoSuchProcess:
            pass
    return out
