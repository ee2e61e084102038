"""A stack of Sentivis processes on this machine: a private redis-server and the services, no Docker.

The one launcher for everything that runs the product as processes: `sentivis up` (`make up`:
every log line prefixed on the terminal, a process that dies restarted with backoff, Ctrl-C or
SIGTERM stops everything), the tests, the benchmarks and the fault tools (`python -m reliability
chaos|soak`). What differs between them is a parameter of `Stack`: how many replicas, the
training worker, a private Redis, a given one or given sentinels (SentinelRedis starts a master, a
replica and three sentinels), where the logs go, whether it supervises.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable

from redis.backoff import ExponentialBackoff

from sentivis.settings import REPO_ROOT, get_settings

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
    """-> (HTTP status, parsed JSON body); an HTTP error status is returned, not raised. `token`:
    the gateway's SENTIVIS_AUTH_TOKEN, sent as the bearer token."""
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


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


class Process:
    """One named child process in a session of its own, so that a signal reaches its children too
    (the gateway's gunicorn worker). Its output goes to `log_path`, or line by line, prefixed with
    its name, to the terminal."""

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
                                         start_new_session=True)
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
    """`python -m <module>` as a child process, started at once, its output in a log file in log_dir."""

    def __init__(self, module: str, env: dict[str, str], log_dir: Path, args: list[str] | None = None,
                 cwd: Path | None = None):
        log_path = Path(log_dir) / f"{module.replace('.', '_')}-{time.monotonic_ns()}.log"
        super().__init__(module, [sys.executable, "-m", module, *(args or [])], env, log_path, cwd)
        self.module = module
        self.start()


def redis_server(port: int, data_dir: Path, log_path: Path | None = None, args: list[str] | None = None,
                 name: str = "redis") -> Process:
    """A private redis-server on 127.0.0.1:port, persisting nothing (not started yet); `args`: more
    of its options."""
    exe = shutil.which("redis-server")
    if exe is None:
        raise SystemExit(REDIS_MISSING)
    return Process(name, [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                          "--dir", str(data_dir), *(args or [])], log_path=log_path)


class SentinelRedis:
    """docker-stack.yml's Redis as processes: a master, a replica and three sentinels (quorum 2)
    on free loopback ports, persisting nothing. `env` points services at the sentinels, through
    which they follow a failover; kill("redis-1") loses the first master.

    data_dir: the sentinels' config files (they rewrite them) and the nodes' working folders;
    log_dir: one log file per process (None: discarded); down_after_ms, failover_timeout_ms: the
    sentinels' timers (the stack's are 5 s and 30 s; tests use short ones).
    """

    NODES = ("redis-1", "redis-2")

    def __init__(self, data_dir: Path, log_dir: Path | None = None, master_name: str = "sentivis",
                 down_after_ms: int = 1000, failover_timeout_ms: int = 5000):
        self.data_dir, self.log_dir, self.master_name = Path(data_dir), log_dir, master_name
        self.down_after_ms, self.failover_timeout_ms = down_after_ms, failover_timeout_ms
        self.ports = {name: free_port() for name in (*self.NODES, "sentinel-1", "sentinel-2", "sentinel-3")}
        self.processes: dict[str, Process] = {}

    @property
    def sentinels(self) -> list[str]:
        return [name for name in self.ports if name.startswith("sentinel-")]

    @property
    def env(self) -> dict[str, str]:
        """The settings that make a service connect through these sentinels."""
        return {"SENTIVIS_REDIS_SENTINELS": ",".join(f"127.0.0.1:{self.ports[s]}" for s in self.sentinels),
                "SENTIVIS_REDIS_MASTER_NAME": self.master_name}

    def _log(self, name: str) -> Path:
        return self.log_dir / f"{name}.log" if self.log_dir else Path(os.devnull)

    def start(self, timeout: float = 30.0) -> "SentinelRedis":
        """Start every process and wait until each sentinel sees the master, its replica and the
        two other sentinels (only then can they agree on a failover)."""
        master_port = self.ports["redis-1"]
        # diskless, immediate full syncs: nothing on disk, and a replica in step within a second
        sync = ["--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0"]
        try:
            for name in self.NODES:
                folder = self.data_dir / name
                folder.mkdir(parents=True, exist_ok=True)
                args = sync + (["--replicaof", "127.0.0.1", str(master_port)] if name != "redis-1" else [])
                process = self.processes[name] = redis_server(self.ports[name], folder, self._log(name), args, name)
                process.start()
                wait_redis(f"redis://127.0.0.1:{self.ports[name]}/0", process=process)
            for name in self.sentinels:
                conf = self.data_dir / f"{name}.conf"
                conf.write_text(
                    f"port {self.ports[name]}\nbind 127.0.0.1\ndir {self.data_dir}\n"
                    f"sentinel monitor {self.master_name} 127.0.0.1 {master_port} 2\n"
                    f"sentinel down-after-milliseconds {self.master_name} {self.down_after_ms}\n"
                    f"sentinel failover-timeout {self.master_name} {self.failover_timeout_ms}\n"
                    f"sentinel parallel-syncs {self.master_name} 1\n")
                process = self.processes[name] = Process(name, [shutil.which("redis-server"), str(conf), "--sentinel"],
                                                         log_path=self._log(name))
                process.start()
            self._wait_discovered(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _sentinel(self, name: str):
        from sentivis import redis_io

        return redis_io.connect(f"redis://127.0.0.1:{self.ports[name]}", timeout=1, retries=0)

    def _wait_discovered(self, timeout: float) -> None:
        import redis

        deadline = time.monotonic() + timeout
        views: list = []
        while time.monotonic() < deadline:
            try:
                views = []
                for name in self.sentinels:
                    with self._sentinel(name) as sentinel:
                        views.append(sentinel.sentinel_master(self.master_name))
                if all(v["num-slaves"] >= 1 and v["num-other-sentinels"] == 2 for v in views):
                    return
            except redis.RedisError as exc:
                views = [str(exc)]
            time.sleep(0.1)
        raise RuntimeError(f"the sentinels did not discover each other and the replica within {timeout} s: {views}")

    def master(self) -> str | None:
        """The node the first answering sentinel names as master, or None when none answers."""
        import redis

        for name in self.sentinels:
            try:
                with self._sentinel(name) as sentinel:
                    _, port = sentinel.sentinel_get_master_addr_by_name(self.master_name)
            except (redis.RedisError, TypeError):
                continue
            return next((n for n in self.NODES if self.ports[n] == int(port)), None)
        return None

    def kill(self, name: str) -> None:
        """kill -9 one process, as the loss of its host."""
        self.processes[name].kill()

    def stop(self) -> None:
        for process in reversed(list(self.processes.values())):
            process.stop()


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


class Stack:
    """Redis (private unless redis_url is given), the gateway, detectors, classifiers, optionally
    the training worker and extra processes (name -> `python -m` arguments).

    log_dir: one log file per process there; None: every line on the terminal, prefixed.
    supervise(): restart what died, with backoff (what `sentivis up` and the fault tools want);
    without it a process that dies is an error the waits report.
    """

    def __init__(self, detectors: int = 1, classifiers: int = 1, trainer_worker: bool = False, gateway: bool = True,
                 redis: bool = True, redis_url: str | None = None, gateway_port: int | None = None,
                 env: dict[str, str] | None = None, log_dir: Path | None = None, cwd: Path | None = None,
                 extra: dict[str, list[str]] | None = None, name: str | None = None):
        self.detectors, self.classifiers = detectors, classifiers
        self.port = gateway_port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.redis_url = redis_url
        self.log_dir = Path(log_dir) if log_dir else None
        self.cwd = cwd
        self.name = name or f"sentivis-d{detectors}-c{classifiers}"
        self.processes: dict[str, Process] = {}
        self.stopping = threading.Event()
        self._restarted = threading.Condition()
        self._supervisor: threading.Thread | None = None
        self._tmp = tempfile.TemporaryDirectory(prefix="sentivis-")
        self._private_redis = redis and redis_url is None
        self.env = {**(env or {}), "SENTIVIS_GATEWAY_PORT": str(self.port)}
        python = [sys.executable, "-m"]
        plan = {"gateway": [*python, "gateway"]} if gateway else {}
        plan |= {f"detector-{i}": [*python, "detector"] for i in range(1, detectors + 1)}
        plan |= {f"classifier-{i}": [*python, "classifier"] for i in range(1, classifiers + 1)}
        if trainer_worker:
            plan["trainer"] = [*python, "trainer", "worker"]
        plan |= {n: [*python, *args] for n, args in (extra or {}).items()}
        self._plan = plan

    def _log_path(self, name: str) -> Path | None:
        return self.log_dir / f"{name}.log" if self.log_dir else None

    # -- start and stop ----------------------------------------------------------------
    def start(self) -> "Stack":
        if self.log_dir:
            self.log_dir.mkdir(parents=True, exist_ok=True)
        try:
            if self._private_redis:
                port = free_port()
                self.redis_url = f"redis://127.0.0.1:{port}/0"
                redis = redis_server(port, Path(self._tmp.name), self._log_path("redis"))
                self.processes["redis"] = redis.start()
                wait_redis(self.redis_url, process=redis)
            if self.redis_url:
                self.env["SENTIVIS_REDIS_URL"] = self.redis_url
            for name, argv in self._plan.items():
                self.run(name, argv)
        except BaseException:
            self.stop()  # a stack that failed to start leaves no process behind
            raise
        return self

    def start_ready(self, timeout: float = 90.0, supervise: bool = False) -> "Stack":
        """start() (and supervise in the background), then wait_ready(timeout); a stack that does
        not get ready is stopped, so no process is left behind."""
        self.start()
        try:
            if supervise:
                self.supervise_in_background()
            self.wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def run(self, name: str, argv: list[str] | str, env: dict[str, str] | None = None) -> Process:
        """Start one more process in the stack's environment: an argv, or a module for `python -m`;
        `env`: settings of this process that differ from the stack's (a second gateway's port)."""
        if isinstance(argv, str):
            argv = [sys.executable, "-m", argv]
        process = self.processes[name] = Process(name, argv, {**self.env, **(env or {})}, self._log_path(name),
                                                 self.cwd)
        return process.start()

    def stop(self) -> None:
        self.stopping.set()
        if self._supervisor is not None:
            self._supervisor.join(5)
        for process in reversed(list(self.processes.values())):
            process.stop()
        self._tmp.cleanup()

    def __enter__(self) -> "Stack":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- supervision -------------------------------------------------------------------
    def supervise(self) -> None:
        """Until stop(): restart a process that died; one that keeps dying waits longer each time."""
        while not self.stopping.wait(0.2):
            now = time.monotonic()
            for p in list(self.processes.values()):
                if p.alive() or self.stopping.is_set():
                    continue
                if p.restart_at is None:
                    p.restarts = 0 if now - p.started_at > STABLE_AFTER_S else p.restarts + 1
                    delay = RESTART_BACKOFF.compute(p.restarts) if p.restarts else QUICK_RESTART_S
                    self._say(f"{p.name} exited with code {p.proc.returncode}; restarting in {delay:.1f} s")
                    p.restart_at = now + delay
                elif now >= p.restart_at:
                    p.start()
                    with self._restarted:
                        self._restarted.notify_all()

    def supervise_in_background(self) -> "Stack":
        self._supervisor = threading.Thread(target=self.supervise, name="supervisor", daemon=True)
        self._supervisor.start()
        return self

    def _say(self, line: str) -> None:
        if self.log_dir is None:
            say("sentivis", line)
        else:
            with open(self.log_dir / "supervisor.log", "a") as log:
                log.write(f"{time.strftime('%H:%M:%S')} {line}\n")

    # -- state ---------------------------------------------------------------------------
    def pids(self) -> dict[str, int]:
        """The pid of every live process."""
        return {name: p.pid for name, p in self.processes.items() if p.alive()}

    def starts(self, name: str) -> int:
        return len(self.processes[name].pids)

    def kill(self, name: str, sig: int = signal.SIGKILL) -> int:
        """Signal one process and its children (kill -9 of the gateway means gunicorn's worker too)."""
        process = self.processes[name]
        pid = process.pid
        process.kill(sig, wait=self._supervisor is None)
        return pid

    def wait_restarted(self, name: str, starts: int, timeout: float) -> bool:
        """Until `name` has been started `starts` times in all (by the supervisor)."""
        deadline = time.monotonic() + timeout
        with self._restarted:
            while self.starts(name) < starts:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._restarted.wait(left)
        return True

    def check_alive(self) -> None:
        """Raise, with their logs, if any process died (in a stack nobody supervises)."""
        dead = [p for p in self.processes.values() if not p.alive()]
        if dead and self._supervisor is None:
            raise RuntimeError("; ".join(f"{p.name} exited ({p.proc.returncode}):\n{p.tail()}" for p in dead))

    def logs(self, chars: int = 3000) -> str:
        return "\n".join(f"--- {p.name}\n{p.tail(chars)}" for p in self.processes.values())

    def wait_until(self, check: Callable[[], bool], what: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                if check():
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"{what} not within {timeout} s:\n{self.logs()}")

    def readiness(self) -> dict:
        """The gateway's /readyz body."""
        token = self.env.get("SENTIVIS_AUTH_TOKEN") or os.environ.get("SENTIVIS_AUTH_TOKEN")
        try:
            return get_json(self.url + "/readyz", timeout=2, token=token)[1] or {}
        except OSError as exc:
            return {"ready": False, "error": str(exc)}

    def wait_ready(self, timeout: float = 90.0, detectors: int | None = None, classifiers: int | None = None) -> None:
        """Until the gateway's /readyz is 200 and counts the replicas (heartbeats) asked for."""
        detectors = self.detectors if detectors is None else detectors
        classifiers = self.classifiers if classifiers is None else classifiers

        def ready() -> bool:
            status = self.readiness()
            return (status.get("ready", False) and status.get("detectors", 0) >= detectors
                    and status.get("classifiers", 0) >= classifiers)

        self.wait_until(ready, f"{self.name} ready", timeout)


# -- `sentivis up` ---------------------------------------------------------------------------
def _announce(stack: Stack, host: str, token: str) -> None:
    """Print the URL once the gateway says it is ready: warm, a frame sent now is answered at once."""
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{stack.port}/"
    deadline = time.monotonic() + 120
    status: object = None
    while time.monotonic() < deadline and not stack.stopping.is_set():
        try:
            code, status = get_json(url + "readyz", timeout=2, token=token or None)
        except OSError:
            code = None
        if code == 200:
            say("sentivis", f"Sentivis is running at {url}  (Ctrl-C to stop)")
            return
        time.sleep(0.3)
    if not stack.stopping.is_set():
        say("sentivis", f"the gateway at {url} was not ready within 120 s ({status}); see the logs above")


def main(argv: list[str] | None = None, prog: str = "sentivis up") -> int:
    parser = argparse.ArgumentParser(
        prog=prog, description="Run the whole stack as local processes: a private redis-server (unless "
                               "SENTIVIS_REDIS_URL or SENTIVIS_REDIS_SENTINELS is set), the gateway, the detector(s), the classifier(s) and the "
                               "training worker. Restarts a process that dies; Ctrl-C stops everything.")
    parser.add_argument("--detectors", type=int, default=1, help="detector processes (default 1)")
    parser.add_argument("--classifiers", type=int, default=1, help="classifier processes (default 1)")
    parser.add_argument("--no-trainer-worker", dest="trainer_worker", action="store_false",
                        help="do not start the Celery training worker")
    args = parser.parse_args(argv)
    settings = get_settings()
    redis_url = os.environ.get("SENTIVIS_REDIS_URL") or None
    external = redis_url is not None or bool(settings.redis_sentinels)  # a given Redis, or given sentinels
    if not external and shutil.which("redis-server") is None:
        raise SystemExit(REDIS_MISSING)
    if port_in_use(settings.gateway_host, settings.gateway_port):
        raise SystemExit(f"port {settings.gateway_port} is in use: stop what runs there or set SENTIVIS_GATEWAY_PORT")
    stack = Stack(args.detectors, args.classifiers, args.trainer_worker, redis=not external, redis_url=redis_url,
                  gateway_port=settings.gateway_port)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stack.stopping.set())
    stack.start()
    threading.Thread(target=_announce, args=(stack, settings.gateway_host, settings.auth_token), daemon=True).start()
    stack.supervise()
    say("sentivis", "stopping")
    stack.stop()
    return 0
