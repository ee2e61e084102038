"""`python -m benchmarks.idle URL COUNT`: hold COUNT idle Socket.IO connections to a gateway, as
browsers left open on a dashboard do, until stdin closes (benchmarks/connections.py runs it).

Real python-socketio clients, alternately with the default parser and with MessagePack, on gevent
(one process, a few greenlets per connection). Prints `open N` as they connect, `held N` once all
are open (or refused: `refused N`), then `held N` every few seconds while it holds them.
"""
from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402 - after the patch, on purpose
import resource  # noqa: E402
import sys  # noqa: E402

import gevent  # noqa: E402
import gevent.pool  # noqa: E402
import socketio  # noqa: E402

from sentivis.protocol import SOCKETIO_PATHS  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.idle")
    parser.add_argument("url")
    parser.add_argument("count", type=int)
    parser.add_argument("--parallel", type=int, default=50, help="connections opened at once (default 50)")
    parser.add_argument("--socketio-path", default=None, help="one path for every client (a gateway with one "
                                                              "endpoint: before this round, socket.io + msgpack)")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    clients: list[socketio.Client] = []
    refused: list[str] = []

    def open_one(i: int) -> None:
        kind = "msgpack" if args.socketio_path or i % 2 else "default"
        sio = socketio.Client(reconnection=False) if kind == "default" else socketio.Client(
            reconnection=False, serializer="msgpack")
        try:
            sio.connect(args.url, transports=["websocket"], wait_timeout=30,
                        socketio_path=args.socketio_path or SOCKETIO_PATHS[kind])
        except socketio.exceptions.ConnectionError as exc:
            refused.append(str(exc))
            return
        clients.append(sio)
        if len(clients) % 100 == 0:
            print(f"open {len(clients)}", flush=True)

    pool = gevent.pool.Pool(args.parallel)
    pool.map(open_one, range(args.count))
    print(f"held {sum(c.connected for c in clients)}" + (f" refused {len(refused)}" if refused else ""), flush=True)
    holding = gevent.spawn(lambda: [gevent.sleep(5) or print(f"held {sum(c.connected for c in clients)}", flush=True)
                                    for _ in iter(int, 1)])
    gevent.get_hub().threadpool.spawn(sys.stdin.read).get()  # until the parent closes stdin
    holding.kill()
    pool.map(lambda c: c.disconnect(), clients)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
