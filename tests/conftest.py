"""Fixtures shared by every test: a private redis-server on a free port, and for the sessions tests a
private PostgreSQL (toolkit.postgres) and a fresh sessions database on either engine.

The processes, clients and face images the tests use are the project's own: toolkit.stack
(Service, Stack, free_port, get_json, wait_http), toolkit.client (FrameClient) and
toolkit.samples (astronaut_frame, pasted_frame, fer_faces, ...).
"""
from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest
import redis

from sentivis.settings import REPO_ROOT
from toolkit import processes as stack
from toolkit.postgres import PostgresServer
from toolkit.processes import free_port  # noqa: F401  re-exported for callers
from toolkit.samples import FER_CSV  # noqa: F401  (re-exported for callers)

REPO = REPO_ROOT


class RedisServer:
    def __init__(self, tmp: Path):
        self.port = stack.free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = stack.redis_server(self.port, tmp, log_path=Path(os.devnull)).start()
        stack.wait_redis(self.url, process=self.process)

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url)

    def stop(self) -> None:
        self.process.stop()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    """One private redis-server for the whole session; tests use redis_url to start clean."""
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server) -> str:
    redis_server.client().flushall()
    return redis_server.url


@pytest.fixture(scope="session", autouse=True)
def sessions_database_of_the_run(tmp_path_factory):
    """Every service the tests start without a database of their own (each gateway migrates one at
    start) uses a SQLite file of this run, not the repository's data/sentivis.db."""
    if os.environ.get("SENTIVIS_DATABASE_URL"):
        yield
        return
    os.environ["SENTIVIS_DATABASE_URL"] = f"sqlite:///{tmp_path_factory.mktemp('sessions') / 'sessions.db'}"
    yield
    del os.environ["SENTIVIS_DATABASE_URL"]


@pytest.fixture(scope="session")
def postgres_server():
    """One private PostgreSQL for the whole session; tests take a fresh database of it."""
    server = PostgresServer().start()
    yield server
    server.close()


_databases = itertools.count(1)
ENGINES = ["sqlite", "postgresql"]


def new_database_url(engine: str, request, tmp_path: Path) -> str:
    """A fresh, empty sessions database on `engine` -> its URL (SQLite: a file in tmp_path)."""
    if engine == "sqlite":
        return f"sqlite:///{tmp_path / 'sessions.db'}"
    return request.getfixturevalue("postgres_server").create_database(f"sessions_{os.getpid()}_{next(_databases)}")


@pytest.fixture(params=ENGINES)
def database_url(request, tmp_path) -> str:
    """A fresh sessions database, once on SQLite and once on PostgreSQL (the test runs twice)."""
    return new_database_url(request.param, request, tmp_path)
