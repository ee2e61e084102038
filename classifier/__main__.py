"""`python -m classifier`: one classifier replica; SIGTERM or Ctrl-C stops it after the current batch."""
from __future__ import annotations

import signal

from classifier.service import ClassifierService
from sentivis.logs import setup_logging
from sentivis.settings import get_settings


def main() -> None:
    settings = get_settings()
    setup_logging("classifier", settings.log_level)
    service = ClassifierService(settings)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: service.stop())
    service.run()


if __name__ == "__main__":
    main()
