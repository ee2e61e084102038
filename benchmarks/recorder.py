"""The recorder's throughput and storage: `python -m benchmarks.recorder`.

For each engine (SQLite, and PostgreSQL from Debian's package, durable: fsync on) and each number of
recorders (a consumer group of 1, 2, 3 processes), on a private redis-server and a fresh database:
the records stream is filled with FRAMES answered frames of PEOPLE people each (spread over CAMERAS
sessions, as that many cameras would), the recorders are started, and the drain is timed. The rate
is the steady one: from when 5 % of the records were written to when 95 % were (the processes'
start and migration excluded). Then the database's size: bytes per frame (tables and indexes,
PostgreSQL's pg_total_relation_size; SQLite's pages after a checkpoint) and per camera-hour at
6 fps.

    python -m benchmarks.recorder                                # the figures (minutes; a quiet machine)
    python -m benchmarks.recorder --frames 300 --recorders 1     # a dry run
"""
from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import redis
import sqlalchemy as sa

from sentivis import records, redis_io, streams
from sentivis.sessions import db, schema
from sentivis.settings import Settings
from toolkit.postgres import PostgresServer
from toolkit.processes import Service, free_port, redis_server, wait_redis

CAMERA_FPS = 6
FILL_CHUNK = 2000


def fill(client: redis.Redis, frames: int, people: int, cameras: int) -> None:
    now = time.time()
    sessions = [records.SessionStarted(records.new_session_id(now + i / 1000), f"camera {i + 1}", now, "bench")
                for i in range(cameras)]
    pending = list(sessions)
    for n in range(frames):
        session = sessions[n % cameras]
        pending.append(records.example_frame(session.session_id, n // cameras, now + n / (CAMERA_FPS * cameras),
                                             people))
        if len(pending) >= FILL_CHUNK or n == frames - 1:
            pipe = client.pipeline(transaction=False)
            for record in pending:
                pipe.xadd(streams.RECORDS, records.encode(record))
            pipe.execute()
            pending = []


def drain_rate(client: redis.Redis, total: int, processes: list[Service], timeout: float) -> float:
    """Records per second between 5 % and 95 % written (by XLEN, sampled every 20 ms)."""
    low, high = 0.95 * total, 0.05 * total
    started = ended = None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = client.xlen(streams.RECORDS)
        now = time.monotonic()
        if started is None and left <= low:
            started = (now, left)
        if started is not None and left <= high:
            ended = (now, left)
            break
        if not any(p.alive() for p in processes):
            raise RuntimeError("every recorder exited:\n" + "\n".join(p.tail() for p in processes))
        time.sleep(0.02)
    if ended is None:
        raise TimeoutError(f"the recorders did not drain {total} records within {timeout} s")
    while client.xlen(streams.RECORDS):  # the rest, before the database is measured
        time.sleep(0.05)
    return (started[1] - ended[1]) / max(ended[0] - started[0], 1e-6)


def stored_bytes(url: str) -> tuple[int, int]:
    """(bytes of the sessions tables, frames stored)."""
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None) as connection:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            frames = connection.execute(f"SELECT count(*) FROM {schema.frames.name}").fetchone()[0]
            pages, free, page = (connection.execute(f"PRAGMA {name}").fetchone()[0]
                                 for name in ("page_count", "freelist_count", "page_size"))
        return (pages - free) * page, frames
    engine = db.create_engine(db.database_url(Settings(database_url=url)))
    try:
        with engine.connect() as connection:
            frames = connection.scalar(sa.select(sa.func.count()).select_from(schema.frames))
            size = sum(connection.scalar(sa.text("SELECT pg_total_relation_size(:t)"), {"t": t.name})
                       for t in schema.metadata.tables.values())
    finally:
        engine.dispose()
    return size, frames


def run_one(engine_name: str, recorders: int, args, redis_url: str, pg: PostgresServer | None, work: Path) -> dict:
    client = redis_io.connect(redis_url)
    client.flushall()
    if engine_name == "sqlite":
        url = f"sqlite:///{work / f'bench-{recorders}-{time.monotonic_ns()}.db'}"
    else:
        url = pg.create_database(f"bench_{recorders}_{time.monotonic_ns()}")
    db.Database(db.database_url(Settings(database_url=url))).ready()  # migrated before the clock starts
    fill(client, args.frames, args.people, args.cameras)
    total = client.xlen(streams.RECORDS)
    env = {"SENTIVIS_REDIS_URL": redis_url, "SENTIVIS_DATABASE_URL": url, "SENTIVIS_LOG_LEVEL": "WARNING",
           "SENTIVIS_RECORDER_BATCH": str(args.batch)}
    processes = [Service("recorder", {**env, "SENTIVIS_CONSUMER_NAME": f"bench-{i}"}, work).start()
                 for i in range(recorders)]
    try:
        rate = drain_rate(client, total, processes, args.timeout)
    finally:
        for process in processes:
            process.stop()
    size, frames = stored_bytes(url)
    per_frame = size / max(frames, 1)
    result = {"engine": engine_name, "recorders": recorders, "records": total, "frames": frames,
              "people": args.people, "records_per_s": round(rate), "rows_per_s": round(rate * args.people),
              "bytes_per_frame": round(per_frame), "bytes_per_row": round(per_frame / args.people),
              "mb_per_camera_hour": round(per_frame * CAMERA_FPS * 3600 / 1e6, 1)}
    print(f"{engine_name:<10} recorders={recorders}  {result['rows_per_s']:>7} rows/s "
          f"({result['records_per_s']} frames/s)  {result['bytes_per_row']} B/row  "
          f"{result['mb_per_camera_hour']} MB per camera-hour at {CAMERA_FPS} fps, {args.people} faces", flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.recorder", description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=60_000, help="answered frames in the stream (default 60000)")
    parser.add_argument("--people", type=int, default=2, help="people per frame (default 2)")
    parser.add_argument("--cameras", type=int, default=10, help="sessions the frames are spread over (default 10)")
    parser.add_argument("--recorders", default="1,2,3", help="recorder counts to run (default 1,2,3)")
    parser.add_argument("--engines", default="sqlite,postgresql", help="default sqlite,postgresql")
    parser.add_argument("--batch", type=int, default=Settings().recorder_batch, help="SENTIVIS_RECORDER_BATCH")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds a drain may take")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    counts = [int(n) for n in args.recorders.split(",")]
    results = []
    with tempfile.TemporaryDirectory(prefix="sentivis-bench-recorder-") as folder:
        work = Path(folder)
        port = free_port()
        server = redis_server(port, work, log_path=Path(os.devnull)).start()
        pg = PostgresServer(durable=True).start() if "postgresql" in engines else None
        try:
            redis_url = f"redis://127.0.0.1:{port}/0"
            wait_redis(redis_url, process=server)
            for engine_name in engines:
                for recorders in counts:
                    results.append(run_one(engine_name, recorders, args, redis_url, pg, work))
        finally:
            server.stop()
            if pg is not None:
                pg.close()
    if args.json:
        args.json.write_text(json.dumps({"argv": sys.argv[1:], "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
