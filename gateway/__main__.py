"""`python -m gateway`: the gateway on gevent, one process, a greenlet per connection.

gevent, as Flask-SocketIO and python-socketio recommend for production: an idle WebSocket costs a
few greenlets' memory, not an OS thread from a fixed pool (gunicorn's gthread worker froze at 200
connections, health checks included). The patch comes first, so that every socket, lock, sleep and
thread below (redis-py, the result reader, the timeouts, python-engineio) cooperates; the CPU work
between two waits (a frame's checks, the tracker) is short, so no connection stalls the others.
"""
from gevent import monkey

monkey.patch_all()

import logging  # noqa: E402 - after the patch, on purpose
import resource  # noqa: E402
import signal  # noqa: E402

import gevent  # noqa: E402
from gevent.pywsgi import WSGIHandler, WSGIServer  # noqa: E402

from gateway.app import create_app  # noqa: E402
from gateway.auth import check_exposure  # noqa: E402
from sentivis.logs import setup_logging  # noqa: E402
from sentivis.settings import get_settings  # noqa: E402

log = logging.getLogger("gateway")
LISTEN_BACKLOG = 2048  # a burst of connections waits in the kernel rather than being reset


class Handler(WSGIHandler):
    """A connection whose WebSocket ended is closed: pywsgi would otherwise read what is left on it
    (the client's close frame) as the next HTTP request, and log it as a malformed one."""

    def run_application(self):
        try:
            super().run_application()
        finally:
            if self.environ.get("HTTP_UPGRADE", "").lower() == "websocket":
                self.close_connection = True


def raise_file_limit() -> int:
    """Every connection is a file descriptor: the soft limit goes up to the hard one (often 1024 -> 1M)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def main() -> None:
    settings = get_settings()
    setup_logging("gateway", settings.log_level)
    check_exposure(settings)  # before binding: no open gateway on a public address by accident
    files = raise_file_limit()
    gateway = create_app(settings, async_mode="gevent")
    server = WSGIServer((settings.gateway_host, settings.gateway_port), gateway.wsgi, backlog=LISTEN_BACKLOG,
                        handler_class=Handler, log=None, error_log=logging.getLogger("gateway.http"))
    gateway.start()

    def stop() -> None:
        log.info("stopping: closing %d connections", len(gateway.connections))
        server.stop(timeout=5)

    for sig in (signal.SIGTERM, signal.SIGINT):
        gevent.signal_handler(sig, stop)
    log.info("gateway %s listening on http://%s:%d (%d file descriptors)", gateway.gateway_id,
             settings.gateway_host, settings.gateway_port, files)
    server.serve_forever()
    gateway.stop()


if __name__ == "__main__":
    main()
