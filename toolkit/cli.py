"""`sentivis COMMAND ...`: the one command line of the project.

    sentivis analyze PATH...    faces and emotions in image and video files (analyzer/)
    sentivis up                 the whole stack as local processes (`make up`)
    sentivis bench              the benchmarks (benchmarks/, also `python -m benchmarks`)
    sentivis chaos|soak|audit   fault injection, a long run, the dependency audit (reliability/)
    sentivis config             the settings: their values here, or docs/CONFIGURATION.md's table
    sentivis schema             the events' JSON Schema, which the page's types are generated from

Each command is its module's own `main(argv, prog)`, imported only when it runs, so the command
line stays quick and needs only what that command needs. `python -m sentivis` is the same.
"""
from __future__ import annotations

import argparse
import importlib
import sys

# name -> (module with main(argv, prog), one line of help)
COMMANDS = {
    "analyze": ("analyzer.cli", "find faces and emotions in image and video files"),
    "up": ("toolkit.up", "run the whole product locally: redis-server and every service as processes"),
    "bench": ("benchmarks.__main__", "benchmark the stack under load against its compute floor and a monolith"),
    "chaos": ("reliability.__main__", "kill -9 services in turn while clients stream; time the recovery"),
    "soak": ("reliability.__main__", "a long run at 70%% of saturation: errors, memory, stream lengths"),
    "audit": ("reliability.__main__", "known vulnerabilities in requirements/*.txt and frontend/"),
    "config": ("sentivis.settings", "the SENTIVIS_* settings as this environment sets them; --docs: their table"),
    "schema": ("toolkit.schema", "the JSON Schema of the events a client gets; --write: the page's copy"),
}
# The reliability commands share one parser, which takes the command's name first.
NAMED = {"chaos", "soak", "audit"}


def overview() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sentivis", description="Sentivis command-line tools.",
                                     epilog="`sentivis COMMAND --help` tells a command's options.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (_, help_text) in COMMANDS.items():
        commands.add_parser(name, help=help_text)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in COMMANDS:
        overview().parse_args(argv)  # --help, or a usage error (exit 2)
        return 2
    name, rest = argv[0], argv[1:]
    module = importlib.import_module(COMMANDS[name][0])
    if name in NAMED:
        return module.main([name, *rest], prog="sentivis")
    return module.main(rest, prog=f"sentivis {name}")
