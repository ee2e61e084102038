"""Child processes on this machine and the waits around them: the pieces of toolkit.stack.

`Process` runs one program in a session of its own with its output in a file or on the terminal
(prefixed with its name, `say`), and stops it, its children with it; `Service` is `python -m` one of
the project's modules; `redis_server` a private Redis; `free_port`, `get_json`, `wait_http` and
`wait_redis` what the launcher, the tests and the tools wait on.
"""
from __future__ import annotations

import ctypes
import functools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from redis.backoff import ExponentialBackoff

from sentivis.settings import REPO_ROOT

REDIS_MISSING = """redis-server was not found on PATH. Install it, or point Sentivis at a running Redis:
  Debian/Ubuntu:  sudo apt-get install redis-server
  Fedora:         sudo dnf install redis
  macOS:          brew install redis
  or:             SENTIVIS_REDIS_URL=redis://host:6379/0 make up"""

# A process that keeps dying is restarted after 1, 2, 4, 8, then every 10 s; one that ran a while at once.
RESTART_BACKOFF = ExponentialBackoff(cap=10.0, base=0.5)
QUICK_RESTART_S = 0.2
STABLE_AFTER_S = 30.0

_print_lock = threading.Lock()


def say(name: str, line: str) -> None:
    """One line on the terminal, prefixed with the name of the process it comes from."""
    with _print_lock:
        sys.stdout.write(f"[{name:<12}] {line}\n")
        sys.stdout.flush()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_in_use(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host if host not in ("0.0.0.0", "") else "127.0.0.1", port)) == 0


def get_json(url: str, timeout: float = 5.0, token: str | None = None):
    """-> (HTTP status, parsed JSON body); an HTTP error status is returned, not raised, with the
    body as text where it is not JSON (a proxy's own error page). `token`: the gateway's
    SENTIVIS_AUTH_TOKEN, sent as the bearer token."""
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        body = exc.read()
        try:
            return exc.code, json.loads(body or b"null")
        except ValueError:
            return exc.code, body.decode(errors="replace")


def wait_http(url: str, timeout: float = 30.0, status: int = 200) -> None:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == status:
                    return
        except urllib.error.HTTPError as exc:
            last = exc
            if exc.code == status:
                return
        except OSError as exc:
            last = exc
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer {status} within {timeout} s ({last})")


_libc = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None
PR_SET_PDEATHSIG = 1


def _end_with_parent(parent: int) -> None:
    """In the child, before it runs its program: SIGTERM when the launcher ends, however it ends
    (kill -9 included), so that no service and no private Redis outlives it and holds its port.
    Linux's parent-death signal; the parent is the thread that started the child (the launcher's
    main thread, or the supervising thread that restarted it)."""
    if _libc is not None:
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the launcher died before the signal was asked for
            os.kill(os.getpid(), signal.SIGTERM)


class Process:
    """One named child process in a session of its own, so that a signal reaches its children too
    (the training worker's), ended with its launcher however that ends (_end_with_parent). Its output
    goes to `log_path`, or line by line, prefixed with its name, to the terminal."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str] | None = None, log_path: Path | None = None,
                 cwd: Path | None = None):
        self.name, self.argv = name, argv
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.log_path = log_path
        self.cwd = cwd or REPO_ROOT
        self.proc: subprocess.Popen | None = None
        self.pids: list[int] = []  # every pid it had, newest last
        self.started_at = 0.0
        self.restarts = 0  # quick deaths in a row
        self.restart_at: float | None = None

    def start(self) -> "Process":
        log = open(self.log_path, "ab") if self.log_path else None
        try:
            self.proc = subprocess.Popen(self.argv, cwd=self.cwd, env=self.env, stdin=subprocess.DEVNULL,
                                         stdout=log or subprocess.PIPE, stderr=subprocess.STDOUT,
                                         start_new_session=True,
                                         preexec_fn=functools.partial(_end_with_parent, os.getpid()))
        finally:
            if log is not None:
                log.close()  # the child has its own copy
        self.started_at = time.monotonic()
        self.restart_at = None
        self.pids.append(self.proc.pid)
        if log is None:
            threading.Thread(target=self._pump, args=(self.proc,), daemon=True).start()
            say(self.name, f"started (pid {self.proc.pid})")
        return self

    def _pump(self, proc: subprocess.Popen) -> None:
        for raw in iter(proc.stdout.readline, b""):
            say(self.name, raw.decode(errors="replace").rstrip())

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path and self.log_path.exists() else ""

    def tail(self, chars: int = 3000) -> str:
        return self.log()[-chars:]

    def kill(self, sig: int = signal.SIGKILL, wait: bool = True) -> None:
        """Signal the process and its children; wait for its end unless a supervisor reaps it."""
        if self.alive():
            os.killpg(self.proc.pid, sig)
            if wait:
                self.proc.wait(timeout=10)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL after `timeout` seconds."""
        if not self.alive():
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout)
        except ProcessLookupError:
            self.proc.wait(timeout)


class Service(Process):
    """`python -m <module>` as a child process (start() starts it), its output in a log file in log_dir."""

    def __init__(self, module: str, env: dict[str, str], log_dir: Path, args: list[str] | None = None,
                 cwd: Path | None = None):
        log_path = Path(log_dir) / f"{module.replace('.', '_')}-{time.monotonic_ns()}.log"
        super().__init__(module, [sys.executable, "-m", module, *(args or [])], env, log_path, cwd)
        self.module = module


def redis_server(port: int, data_dir: Path, log_path: Path | None = None, args: list[str] | None = None,
                 name: str = "redis") -> Process:
    """A private redis-server on 127.0.0.1:port, persisting nothing (not started yet); `args`: more
    of its options."""
    exe = shutil.which("redis-server")
    if exe is None:
        raise SystemExit(REDIS_MISSING)
    return Process(name, [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                          "--dir", str(data_dir), *(args or [])], log_path=log_path)


def wait_redis(url: str, timeout: float = 10.0, process: Process | None = None) -> None:
    import redis

    from sentivis import redis_io

    client = redis_io.connect(url, timeout=1, retries=0)
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline or (process is not None and not process.alive()):
                    raise RuntimeError(f"redis-server did not start at {url}:\n"
                                       + (process.tail() if process else "")) from None
                time.sleep(0.05)
    finally:
        client.close()
