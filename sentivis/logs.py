"""One logging set-up for every service. Frames and crops are never logged, only their ids."""
import logging
import sys


def setup_logging(service: str, level: str = "INFO") -> None:
    logging.basicConfig(stream=sys.stderr, level=level.upper(),
                        format=f"%(asctime)s {service} %(levelname)s %(name)s: %(message)s")
