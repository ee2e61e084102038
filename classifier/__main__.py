"""`python -m classifier`: one classifier replica; SIGTERM or Ctrl-C stops it after the current batch."""
from classifier.service import ClassifierService
from sentivis.lifecycle import run_until_signalled
from sentivis.logs import setup_logging
from sentivis.settings import get_settings


def main() -> None:
    settings = get_settings()
    setup_logging("classifier", settings.log_level)
    run_until_signalled(ClassifierService(settings))


if __name__ == "__main__":
    main()
