"""`python -m detector`: one detector replica, until SIGTERM or SIGINT."""
import signal

from sentivis.logs import setup_logging
from sentivis.settings import get_settings

from detector.service import DetectorService


def main() -> None:
    settings = get_settings()
    setup_logging("detector", settings.log_level)
    service = DetectorService(settings)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: service.stop())
    service.run()


if __name__ == "__main__":
    main()
