"""Fixtures shared by every test folder: a private redis-server on a free port, for the sessions tests a
private PostgreSQL (toolkit.postgres) and a fresh sessions database on either engine, and the data the
trainer, classifier and reliability tests share (real FER-2013 rows, random-weight models).

Helpers the tests import are in tests/support; the processes, clients and face images the tests use
are the project's own: toolkit.processes (Service, free_port, get_json, wait_http), toolkit.stack
(Stack), toolkit.client (FrameClient) and toolkit.samples (astronaut_frame, pasted_frame, fer_faces, ...).
"""
from __future__ import annotations

import hashlib
import itertools
import json
import os
from pathlib import Path
from typing import Callable

import pytest

from tests.support.fer import first_fer_rows
from tests.support.models import emotion_net
from tests.support.servers import RedisServer
from toolkit.postgres import PostgresServer


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


@pytest.fixture
def new_database(request, tmp_path) -> Callable[[str], str]:
    """new_database(engine) -> the URL of a fresh, empty sessions database on "sqlite" (a file in
    tmp_path) or "postgresql" (a database of the session's private server, started on first use)."""
    def new(engine: str) -> str:
        if engine == "sqlite":
            return f"sqlite:///{tmp_path / 'sessions.db'}"
        server = request.getfixturevalue("postgres_server")
        return server.create_database(f"sessions_{os.getpid()}_{next(_databases)}")

    return new


@pytest.fixture(params=ENGINES)
def database_url(request, new_database) -> str:
    """A fresh sessions database, once on SQLite and once on PostgreSQL (the test runs twice)."""
    return new_database(request.param)


@pytest.fixture(scope="session")
def fer_rows() -> list[tuple[str, str]]:
    """The first rows of the real FER-2013 CSV as (emotion, pixels) strings, as many as
    tests.support.fer.SPLIT_SIZES adds up to."""
    return first_fer_rows()


@pytest.fixture(scope="session")
def model_files(tmp_path_factory) -> dict[str, Path]:
    """Two contract-conforming models with different weights, each with a model card."""
    folder = tmp_path_factory.mktemp("models")
    files = {}
    for name, seed in (("a", 1), ("b", 2)):
        path = emotion_net(folder / f"emotion-{name}.onnx", seed)
        # The fields the trainer's card has that the classifier reads, plus an explicit version.
        card = {"version": f"test-{name}", "accuracy": 0.5 + seed / 10,
                "metrics": {"test": {"accuracy": 0.5 + seed / 10}},
                "file": {"name": path.name, "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}}
        (folder / f"emotion-{name}.card.json").write_text(json.dumps(card))
        files[name] = path
    return files
