"""The one `sentivis` command: its subcommands, each with the options of the tool it runs."""
import subprocess
import sys

from sentivis.settings import REPO_ROOT


def sentivis(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sentivis", *args], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=120)


def test_help_lists_every_command():
    proc = sentivis("--help")
    assert proc.returncode == 0, proc.stderr
    for command in ("analyze", "up", "bench", "chaos", "soak", "audit"):
        assert f"\n    {command} " in proc.stdout, proc.stdout


def test_each_command_has_its_own_options_and_name():
    for args, option in ((["up", "--help"], "--no-trainer-worker"), (["bench", "--help"], "--scenarios"),
                         (["soak", "--help"], "--saturation"), (["analyze", "--help"], "--every")):
        proc = sentivis(*args)
        assert proc.returncode == 0 and option in proc.stdout, (args, proc.stdout, proc.stderr)
        assert proc.stdout.startswith(f"usage: sentivis {args[0]} "), proc.stdout


def test_an_unknown_or_missing_command_is_a_usage_error():
    unknown = sentivis("nope")
    assert unknown.returncode == 2 and "invalid choice: 'nope'" in unknown.stderr
    missing = sentivis()
    assert missing.returncode == 2 and "COMMAND" in missing.stderr
