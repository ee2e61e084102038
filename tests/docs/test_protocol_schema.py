"""The events a client gets have one definition (sentivis/protocol.py); the page's types, the
OpenAPI document and docs/PROTOCOL.md's examples follow from it or are checked against it here."""
import json
import re

import msgspec
import pytest

from sentivis.protocol import EVENTS, events_schema
from sentivis.settings import REPO_ROOT
from toolkit import schema

PROTOCOL_PAGE = REPO_ROOT / "docs" / "PROTOCOL.md"


def test_the_pages_schema_file_is_current():
    # frontend/src/lib/protocol.test.ts checks protocol.ts against this file in turn
    assert schema.SCHEMA_FILE.read_text() == schema.render(), "run `sentivis schema --write` and `npm run types`"
    assert set(events_schema()["properties"]) == set(EVENTS)


def documented_example(event: str) -> dict:
    """The first JSON block under the page's `### \\`event\\`` heading."""
    text = PROTOCOL_PAGE.read_text()
    body = text.split(f"### `{event}`\n", 1)[1].split("\n### ", 1)[0]
    block = re.search(r"```json\n(.*?)```", body, flags=re.S)
    assert block, f"docs/PROTOCOL.md shows no JSON example of `{event}`"
    return json.loads(block.group(1))


def keys(value, path: str = "") -> set[str]:
    """Every key path in a JSON value (lists: their first item's); the open maps of probabilities are one key."""
    if isinstance(value, dict) and not path.endswith("probabilities"):
        return {f"{path}.{k}" for k in value} | {p for k, v in value.items() for p in keys(v, f"{path}.{k}")}
    if isinstance(value, list) and value:
        return keys(value[0], path + "[]")
    return set()


@pytest.mark.parametrize("event", list(EVENTS))
def test_each_events_documented_example_is_a_valid_record_with_every_field(event):
    example = documented_example(event)
    record = msgspec.convert(example, EVENTS[event])  # raises for a wrong type or a missing field
    # a key the record does not know is dropped by the round trip, a field the page omits shows up
    assert keys(msgspec.to_builtins(record)) == keys(example)
