"""Which cores the stack and the load generator run on: shared, or pinned apart (what `taskset` does).

Shared: every process may run on every core, so the load generator's CPU is taken from the
stack's. Pinned: the stack (redis, gateway, workers) on all cores but the last, the load
generator on the last, so the server's efficiency is measured without the client's CPU.
Processes inherit the affinity of the thread that starts them: the stack is started from inside
`pinned(stack)`, and the load runs inside `pinned(load)`.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

MODES = ("shared", "pinned")


@dataclass(frozen=True)
class CpuPlan:
    """mode: "shared" or "pinned"; stack and load: the cores of each (the same set when shared)."""
    mode: str
    stack: frozenset[int]
    load: frozenset[int]

    @classmethod
    def for_mode(cls, mode: str, available: set[int] | None = None) -> "CpuPlan":
        """The plan of a mode on this machine's cores; ValueError for pinned on one core."""
        cores = frozenset(available if available is not None else os.sched_getaffinity(0))
        if mode == "shared":
            return cls(mode, cores, cores)
        if mode != "pinned":
            raise ValueError(f"unknown CPU mode {mode!r}; choose from {', '.join(MODES)}")
        if len(cores) < 2:
            raise ValueError("the pinned mode needs at least 2 cores (one for the load generator)")
        last = max(cores)
        return cls(mode, cores - {last}, frozenset({last}))

    @property
    def stack_cores(self) -> int:
        return len(self.stack)


def _set_all_threads(cpus: frozenset[int]) -> None:
    """sched_setaffinity on every thread of this process (`taskset -a -p`): a thread keeps its own
    mask, so setting the calling thread's alone would leave the others where they were."""
    for tid in os.listdir("/proc/self/task"):
        try:
            os.sched_setaffinity(int(tid), cpus)
        except (ProcessLookupError, PermissionError):
            pass  # a thread that ended meanwhile


@contextmanager
def pinned(cpus: frozenset[int]) -> Iterator[None]:
    """This process, all its threads, and every process it starts meanwhile, on `cpus`."""
    before = frozenset(os.sched_getaffinity(0))
    _set_all_threads(cpus)
    try:
        yield
    finally:
        _set_all_threads(before)
