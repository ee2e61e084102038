"""`python -m gateway`: the gateway on gunicorn's threaded worker (one process, many threads).

One worker process, because Socket.IO connections and their state live in that process;
threads carry the long-lived WebSocket connections (Flask-SocketIO's threading mode).
"""
from __future__ import annotations

import logging

from gunicorn.app.base import BaseApplication

from gateway.app import create_app
from gateway.auth import check_exposure
from sentivis.logs import setup_logging
from sentivis.settings import get_settings

log = logging.getLogger("gateway")


class GatewayServer(BaseApplication):
    def __init__(self, settings):
        self.settings = settings
        super().__init__()

    def load_config(self):
        s = self.settings
        self.cfg.set("bind", f"{s.gateway_host}:{s.gateway_port}")
        self.cfg.set("workers", 1)
        self.cfg.set("worker_class", "gthread")
        self.cfg.set("threads", 200)
        self.cfg.set("timeout", 60)
        self.cfg.set("graceful_timeout", 5)
        self.cfg.set("loglevel", s.log_level.lower())
        self.cfg.set("accesslog", None)
        self.cfg.set("control_socket_disable", True)  # a fixed socket path would clash between stacks

    def load(self):
        app, _, broker = create_app(self.settings)
        broker.start()
        log.info("gateway %s listening on http://%s:%d", broker.gateway_id, self.settings.gateway_host,
                 self.settings.gateway_port)
        return app


def main() -> None:
    settings = get_settings()
    setup_logging("gateway", settings.log_level)
    check_exposure(settings)  # before binding: no open gateway on a public address by accident
    GatewayServer(settings).run()


if __name__ == "__main__":
    main()
