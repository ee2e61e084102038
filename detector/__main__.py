"""`python -m detector`: one detector replica, until SIGTERM or SIGINT."""
from detector.service import DetectorService
from sentivis.lifecycle import run_until_signalled
from sentivis.logs import setup_logging
from sentivis.settings import get_settings


def main() -> None:
    settings = get_settings()
    setup_logging("detector", settings.log_level)
    run_until_signalled(DetectorService(settings))


if __name__ == "__main__":
    main()
