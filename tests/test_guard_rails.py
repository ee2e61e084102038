"""What keeps the tree easy to carry on, checked in `make test`: ruff (pyproject.toml's rules),
the import contracts (pyproject.toml's [tool.importlinter]: the core imports no service, the
services none of each other, no cycle inside a package, imports inside functions included), and
no Python module over MAX_LINES."""
import subprocess
import sys
from pathlib import Path

import pytest

from sentivis.settings import REPO_ROOT

MAX_LINES = 400
BIN = Path(sys.executable).parent


def run(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)


def test_ruff_finds_nothing():
    result = run(sys.executable, "-m", "ruff", "check", "--no-cache", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_import_contracts_hold():
    result = run(str(BIN / "lint-imports"), "--no-cache")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def python_modules() -> list[Path]:
    try:
        listed = run("git", "ls-files", "--cached", "--others", "--exclude-standard", "*.py").stdout.split()
    except OSError as exc:
        pytest.skip(f"git is needed to list the tree's modules: {exc}")
    return [REPO_ROOT / name for name in listed if (REPO_ROOT / name).is_file()]


def test_no_python_module_is_over_the_size_limit():
    sizes = {str(p.relative_to(REPO_ROOT)): len(p.read_text().splitlines()) for p in python_modules()}
    assert len(sizes) > 100, "the tree's modules were not found"
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}, f"split modules over {MAX_LINES} lines"
