"""The compose test needs a Docker engine and minutes: it runs only through `make test-compose`."""
import os

import pytest


def pytest_collection_modifyitems(config, items):
    if os.environ.get("SENTIVIS_COMPOSE_TEST") == "1":
        return
    skip = pytest.mark.skip(reason="docker compose stack test: run `make test-compose`")
    for item in items:
        if "tests/compose/" in item.nodeid:
            item.add_marker(skip)
