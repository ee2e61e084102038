"""The README is a front door and docs/ the reference: both complete and current.

The configuration page is generated from `Settings` and must be as generated; the protocol page
lists exactly the frame_error codes; every relative link resolves; the README stays small,
starts with the two commands and lists every top-level folder.
"""
import os
import re
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest

from sentivis import settings
from sentivis.errors import CONNECT_REFUSALS, FRAME_ERRORS, SESSION_ERRORS
from sentivis.settings import REPO_ROOT, Settings

README = REPO_ROOT / "README.md"
DOCS = sorted((REPO_ROOT / "docs").glob("*.md"))
MAX_README_BYTES = 8 * 1024


def tracked_files() -> list[str]:
    try:
        out = subprocess.run(["git", "ls-files"], cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"the folder table is checked against git's files; git ls-files failed: {exc}")
    return out.splitlines()


def section(text: str, heading: str) -> str:
    """The body of the `## heading` section of a Markdown text (to the next heading of that level)."""
    level = heading.split(" ", 1)[0]
    start = text.index(heading + "\n") + len(heading) + 1
    end = re.search(rf"^{level} ", text[start:], flags=re.M)
    return text[start:start + end.start()] if end else text[start:]


def without_code(text: str) -> str:
    return re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    for heading in re.findall(r"^#+ (.+)$", without_code(path.read_text()), flags=re.M):
        base = slug(heading)
        seen[base] = seen.get(base, -1) + 1
        seen.setdefault(f"{base}-{seen[base]}" if seen[base] else base, 0)
    return set(seen)


# -- README -------------------------------------------------------------------------------------

def test_the_readme_starts_with_the_two_commands_and_the_makefile_has_them():
    first_lines = README.read_text().splitlines()[:8]
    assert any(line.startswith("make up ") for line in first_lines), first_lines
    assert any(line.startswith("make test ") for line in first_lines), first_lines
    makefile = (REPO_ROOT / "Makefile").read_text()
    assert re.search(r"^up:", makefile, flags=re.M) and re.search(r"^test:", makefile, flags=re.M)


def test_the_readme_is_a_front_door():
    size = len(README.read_bytes())
    assert size < MAX_README_BYTES, f"README.md is {size} bytes; move reference text into docs/"


def test_the_folder_table_lists_every_top_level_folder_and_nothing_that_is_not_there():
    listed = set(re.findall(r"^\| `([^`]+)` \|", README.read_text(), flags=re.M))
    folders = {f.split("/", 1)[0] + "/" for f in tracked_files() if "/" in f}
    assert folders - listed == set(), "top-level folders missing from the README's folder table"
    assert {"docker-compose.yml", "docker-stack.yml", "Makefile"} <= listed
    missing = {name for name in listed if not (REPO_ROOT / name).exists()}
    assert missing == set(), "the README's folder table lists what does not exist"


# -- docs/ --------------------------------------------------------------------------------------

def test_the_configuration_page_is_generated_from_every_setting():
    page = settings.CONFIG_DOC.read_text()
    assert settings.render_doc(page) == page, "docs/CONFIGURATION.md is out of date: run `sentivis config --docs`"
    table = page.split(settings.DOC_BEGIN, 1)[1].split(settings.DOC_END, 1)[0]
    documented = re.findall(r"^\| `(SENTIVIS_[A-Z_]+)` \|", table, flags=re.M)
    assert documented == [settings.env_name(f.name) for f in fields(Settings)]
    assert all(f.metadata.get("meaning") for f in fields(Settings))


def test_the_generator_refuses_a_page_without_its_markers():
    with pytest.raises(settings.SettingsError, match="lacks the lines"):
        settings.render_doc("# Configuration\n\nno table here\n")


def test_no_page_names_a_variable_that_does_not_exist():
    """A SENTIVIS_ variable in the docs is a setting or one the compose, stack and build files read."""
    known = {settings.env_name(f.name) for f in fields(Settings)}
    for name in ("docker-compose.yml", "docker-compose.gpu.yml", "docker-stack.yml", "Makefile",
                 "frontend/vite.config.ts"):
        known |= set(re.findall(r"\b(SENTIVIS_[A-Z_]+)", (REPO_ROOT / name).read_text()))
    for page in [README, *DOCS]:
        named = set(re.findall(r"\b(SENTIVIS_[A-Z_]+)\b", page.read_text()))
        assert named - known == set(), f"{page.name} names variables nothing reads"


@pytest.mark.parametrize("heading, codes", [("## Error codes", FRAME_ERRORS),
                                            ("## Session error codes", SESSION_ERRORS),
                                            ("## Connect refusals", CONNECT_REFUSALS)])
def test_the_protocol_page_lists_exactly_the_error_codes(heading, codes):
    table = section((REPO_ROOT / "docs" / "PROTOCOL.md").read_text(), heading)
    documented = re.findall(r"^\| `([a-z_]+)` \|", table, flags=re.M)
    assert sorted(documented) == sorted(codes), set(documented) ^ set(codes)


@pytest.mark.parametrize("page", [README, *DOCS], ids=lambda p: p.relative_to(REPO_ROOT).as_posix())
def test_every_relative_link_resolves(page):
    broken = []
    for target in re.findall(r"!?\[[^\]]*\]\(([^)\s]+)\)", without_code(page.read_text())):
        if re.match(r"[a-z]+:", target):
            continue  # http:, https:, mailto:
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.is_relative_to(REPO_ROOT) or not resolved.is_file():
            broken.append(target)
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            broken.append(target)
    assert broken == []


def test_every_docs_page_the_code_cites_exists():
    cited = set()
    for name in tracked_files():
        path = REPO_ROOT / name
        if path.suffix in {".py", ".ts", ".tsx", ".mjs", ".yml", ".yaml", ".sh", ".conf", ".md", ""} and path.is_file():
            cited |= {(name, m) for m in re.findall(r"\bdocs/[\w.-]+\.md\b", path.read_text(errors="replace"))}
    assert [c for c in cited if not (REPO_ROOT / c[1]).is_file()] == []


# -- `sentivis config` --------------------------------------------------------------------------

def config(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SENTIVIS_")}
    return subprocess.run([sys.executable, "-m", "sentivis", "config", *args], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=60, env={**clean, **env})


def test_sentivis_config_shows_each_setting_as_this_environment_sets_it():
    proc = config(SENTIVIS_GATEWAY_PORT="5002", SENTIVIS_CORS_ORIGINS="https://a.example, https://b.example")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == len(fields(Settings))
    assert "SENTIVIS_GATEWAY_PORT=5002  (set)" in lines
    assert "SENTIVIS_CORS_ORIGINS=https://a.example,https://b.example  (set)" in lines
    assert "SENTIVIS_MAX_IN_FLIGHT=2  (default)" in lines


def test_sentivis_config_names_a_bad_value_and_fails():
    proc = config(SENTIVIS_MAX_IN_FLIGHT="two")
    assert proc.returncode == 2
    assert "SENTIVIS_MAX_IN_FLIGHT='two' is not a valid int" in proc.stderr


def test_sentivis_config_markdown_is_the_generated_table():
    proc = config("--markdown")
    assert proc.returncode == 0 and proc.stdout == settings.markdown_table()
