"""The sessions database: its URL, the engine, and migrations that are safe to run from every replica.

SENTIVIS_DATABASE_URL chooses it: PostgreSQL (psycopg 3; `postgresql://` is enough) for docker
compose, Swarm and Kubernetes, SQLite for `make up` (empty: data/sentivis.db in the repository).
SQLite runs in WAL mode (readers do not wait for the writer) with a busy timeout, and a write
transaction takes the write lock at BEGIN (IMMEDIATE): two writers then wait for each other
instead of failing on a lock upgrade.

`migrate()` brings the schema to Alembic's head. Every recorder and gateway runs it at start, so
several may run it at once: on PostgreSQL it holds a transaction-level advisory lock, on SQLite an
exclusive transaction, around the whole upgrade (DDL is transactional on both): the first one
upgrades, the others wait, then find the schema at head and do nothing.
"""
from __future__ import annotations

import logging
import sqlite3
import threading
import time
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine, make_url

from sentivis.errors import SentivisError
from sentivis.settings import REPO_ROOT, Settings

log = logging.getLogger(__name__)

DEFAULT_SQLITE = REPO_ROOT / "data" / "sentivis.db"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_S = 30.0  # a writer waits this long for another's lock (a batch takes milliseconds)
PG_CONNECT_TIMEOUT_S = 5
MIGRATION_LOCK = 0x5E551075  # pg_advisory_xact_lock key of the schema upgrade

# What a database that is down, restarting or locked raises: retried, never fatal.
UNAVAILABLE = (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError)


class DatabaseUnavailable(SentivisError):
    pass


def database_url(settings: Settings) -> str:
    """SENTIVIS_DATABASE_URL with PostgreSQL on psycopg 3, or the default SQLite file."""
    url = settings.database_url or f"sqlite:///{DEFAULT_SQLITE}"
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def create_engine(url: str) -> Engine:
    """An engine for `url` (a SQLAlchemy URL); SQLite's folder is made when missing."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        connect_args = {"connect_timeout": PG_CONNECT_TIMEOUT_S} if parsed.get_backend_name() == "postgresql" else {}
        return sa.create_engine(parsed, pool_pre_ping=True, connect_args=connect_args)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(parsed, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})

    @sa.event.listens_for(engine, "connect")
    def _sqlite_connect(dbapi_connection, _record):
        # The driver's own transaction handling off: BEGIN is ours (below), with the lock mode we want.
        dbapi_connection.isolation_level = None
        dbapi_connection.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        _wal(dbapi_connection)

    @sa.event.listens_for(engine, "begin")
    def _sqlite_begin(connection):
        mode = connection.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        connection.exec_driver_sql(f"BEGIN {mode}")

    return engine


def _wal(dbapi_connection: sqlite3.Connection) -> None:
    """WAL mode, once the file is free: switching the journal needs the whole file (another process
    may be migrating it), and SQLite answers "locked" at once rather than waiting its busy timeout."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_S
    while True:
        try:
            dbapi_connection.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def reading(connection: sa.Connection) -> sa.Connection:
    """A connection whose transactions only read: on SQLite they take no write lock (WAL readers
    run beside the writer)."""
    return connection.execution_options(sqlite_begin="DEFERRED")


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def migrate(engine: Engine) -> None:
    """Upgrade the schema to head under a lock that one process at a time holds (module docstring)."""
    config = alembic_config()
    with engine.connect().execution_options(sqlite_begin="EXCLUSIVE") as connection:
        with connection.begin():
            if connection.dialect.name == "postgresql":
                connection.execute(sa.select(sa.func.pg_advisory_xact_lock(MIGRATION_LOCK)))
            config.attributes["connection"] = connection
            command.upgrade(config, "head")


class Database:
    """One engine, migrated once before first use (`ready()`), for a process's lifetime."""

    def __init__(self, url: str):
        self.url = url
        self.engine = create_engine(url)
        self._migrated = False
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> "Database":
        return cls(database_url(settings))

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def ready(self) -> Engine:
        """The engine, its schema migrated; DatabaseUnavailable when the database cannot be reached."""
        if self._migrated:
            return self.engine
        with self._lock:
            if not self._migrated:
                try:
                    migrate(self.engine)
                except UNAVAILABLE as exc:
                    raise DatabaseUnavailable(f"the sessions database is unavailable: {short_error(exc)}") from exc
                self._migrated = True
                log.info("sessions database ready (%s)", self.engine.url.render_as_string(hide_password=True))
        return self.engine

    def close(self) -> None:
        self.engine.dispose()


def short_error(exc: BaseException) -> str:
    """The first line of a database error, without SQLAlchemy's statement and background link."""
    original = getattr(exc, "orig", None) or exc
    return (str(original).strip().splitlines() or [type(original).__name__])[0]
