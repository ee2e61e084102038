"""The README documents every setting and every frame_error code, and starts with the two commands."""
import re
from dataclasses import fields

from sentivis.protocol import ERROR_CODES
from sentivis.settings import Settings
from tests.conftest import REPO

README = (REPO / "README.md").read_text()


def test_the_two_commands_come_first():
    first_lines = README.splitlines()[:6]
    assert any(line.startswith("make up") for line in first_lines)
    assert any(line.startswith("make test") for line in first_lines)


def test_every_setting_is_documented_and_nothing_else():
    documented = set(re.findall(r"`(SENTIVIS_[A-Z_]+)`", README.split("## Configuration", 1)[1].split("\n## ", 1)[0]))
    expected = {f"SENTIVIS_{f.name.upper()}" for f in fields(Settings)}
    assert expected - documented == set(), "settings missing from the README's configuration table"
    assert documented - expected == set(), "the README documents settings that do not exist"


def test_every_frame_error_code_is_documented():
    codes = set(re.findall(r"^\| `([a-z_]+)` \|", README, flags=re.M))
    assert set(ERROR_CODES) <= codes, set(ERROR_CODES) - codes
