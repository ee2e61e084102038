"""A private PostgreSQL server for the tests and the recorder benchmark, as stack.redis_server is for Redis.

Debian's `postgresql` package: `initdb` and `pg_ctl` in a temporary folder, listening on a free
loopback port (and a unix socket in that folder), trust authentication for its one user on
loopback only, gone when stopped. PostgreSQL refuses to run as root: as root, it runs as the
package's `postgres` user (or `nobody`), in a folder that user owns. It is its own module, beside
toolkit/stack.py (Redis's processes), which is long enough already.
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg

from toolkit.processes import free_port

POSTGRES_MISSING = """PostgreSQL's initdb and pg_ctl were not found. Install Debian's package:
  sudo apt-get install postgresql     (the Makefile's test-deps does, as root)"""
USER = "sentivis"


def postgres_bin(name: str) -> str:
    """initdb, pg_ctl, ...: on PATH, else the newest /usr/lib/postgresql/<version>/bin."""
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                      key=lambda p: int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0)
    if not versions:
        raise RuntimeError(POSTGRES_MISSING)
    return versions[-1]


def _runs_as() -> pwd.struct_passwd | None:
    """The unprivileged account to run as when this process is root; None otherwise."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError("running as root, and neither a postgres nor a nobody user exists to run PostgreSQL as")


class PostgresServer:
    """One private server. durable=False turns fsync off (tests: a clean stop still writes
    everything; only a crash of the machine would lose data); the benchmark keeps it on."""

    def __init__(self, port: int | None = None, durable: bool = False):
        self.port = port or free_port()
        self.durable = durable
        self.account = _runs_as()
        self.folder = Path(tempfile.mkdtemp(prefix="sentivis-pg-"))
        self.data = self.folder / "data"
        self.log_path = self.folder / "postgres.log"
        if self.account is not None:
            os.chown(self.folder, self.account.pw_uid, self.account.pw_gid)

    def _run(self, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess:
        kwargs = {}
        if self.account is not None:
            kwargs = {"user": self.account.pw_uid, "group": self.account.pw_gid, "extra_groups": []}
        env = {**os.environ, "LC_ALL": "C.UTF-8", "TZ": "UTC"}
        proc = subprocess.run(argv, cwd=self.folder, env=env, capture_output=True, text=True, timeout=timeout,
                              **kwargs)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}\n"
                               f"{self.log_tail()}")
        return proc

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def start(self) -> "PostgresServer":
        """initdb (the first time) and start; returns when it accepts connections."""
        if not (self.data / "PG_VERSION").exists():
            self._run(postgres_bin("initdb"), "-D", str(self.data), "-U", USER, "--auth=trust", "--encoding=UTF8",
                      "--no-instructions", *([] if self.durable else ["--no-sync"]))
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
        if not self.durable:
            options += " -c fsync=off"
        self._run(postgres_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.log_path), "-o", options, "-w",
                  "-t", "60", "start")
        return self

    def stop(self, mode: str = "fast") -> None:
        """pg_ctl stop: "fast" (clients are disconnected, everything written), or "immediate"."""
        if (self.data / "postmaster.pid").exists():
            self._run(postgres_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def close(self) -> None:
        """Stop it and delete its folder."""
        try:
            self.stop()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A new empty database -> its URL."""
        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)
