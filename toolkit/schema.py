"""`sentivis schema`: the JSON Schema of the events a client gets, from sentivis/protocol.py.

The page's types (frontend/src/lib/protocol.ts) are generated from this file by
json-schema-to-typescript (`npm run types` in frontend/); tests check both are current.
"""
from __future__ import annotations

import argparse
import json

from sentivis.protocol import events_schema
from sentivis.settings import REPO_ROOT

SCHEMA_FILE = REPO_ROOT / "frontend" / "src" / "lib" / "protocol.schema.json"


def render() -> str:
    return json.dumps(events_schema(), indent=2) + "\n"


def main(argv: list[str] | None = None, prog: str = "sentivis schema") -> int:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"write {SCHEMA_FILE.relative_to(REPO_ROOT)}")
    args = parser.parse_args(argv)
    if args.write:
        SCHEMA_FILE.write_text(render())
        print(f"wrote {SCHEMA_FILE.relative_to(REPO_ROOT)}; now `npm run types` in frontend/")
    else:
        print(render(), end="")
    return 0
