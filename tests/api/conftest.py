"""Hypothesis (under schemathesis) keeps caches in `.hypothesis/` of the working folder, written at
collection already: a temporary folder instead, removed at the end, so the tests leave nothing."""
import shutil
import tempfile

from hypothesis.configuration import set_hypothesis_home_dir


def pytest_configure(config):
    home = tempfile.mkdtemp(prefix="sentivis-hypothesis-")
    set_hypothesis_home_dir(home)

    def remove():
        set_hypothesis_home_dir(None)
        shutil.rmtree(home, ignore_errors=True)

    config.add_cleanup(remove)
