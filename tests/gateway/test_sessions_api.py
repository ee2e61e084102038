"""The sessions API of a real gateway process, on SQLite and PostgreSQL: the list in pages, one
session, its rows streamed as CSV or JSONL, deletion; unknown ids, bad parameters and a database
that is down each get a clear JSON error and change nothing."""
from __future__ import annotations

import csv
import io
import json
import time

import pytest
import requests

from sentivis import records as r
from sentivis.labels import EMOTIONS
from sentivis.sessions import db, store
from sentivis.settings import Settings
from toolkit.processes import free_port

TOKEN = "sessions-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
T0 = 1_700_000_000.0


@pytest.fixture
def seeded(database_url):
    """Three sessions: "a" (20 frames, two people, a gap), "b" (empty), "c" (newest, 5 frames)."""
    engine = db.Database(db.database_url(Settings(database_url=database_url))).ready()
    ids = {}
    with engine.begin() as connection:
        for i, name in enumerate("abc"):
            start = r.SessionStarted(r.new_session_id(T0 + i), name, T0 + i, "gw")
            ids[name] = sid = start.session_id
            n = {"a": 20, "b": 0, "c": 5}[name]
            batch = [start, *(r.example_frame(sid, seq, T0 + i + seq / 6) for seq in range(n))]
            if name == "a":
                batch.append(r.Gap(sid, 20, 3, T0 + 4, T0 + 4.5))
            store.write_records(connection, [*batch, r.SessionStopped(sid, T0 + i + 10, n + (3 if name == "a" else 0),
                                                                      3 if name == "a" else 0)])
    engine.dispose()
    return ids


@pytest.fixture
def gateway(start_gateway, database_url, seeded):
    url, _ = start_gateway(SENTIVIS_DATABASE_URL=database_url, SENTIVIS_AUTH_TOKEN=TOKEN)
    return url + "/api/v1/sessions"


def get(url, **params):
    return requests.get(url, params=params, headers=AUTH, timeout=30)


def assert_error(response, status, code):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == code and body["error"], body


def test_list_detail_rows_and_delete(gateway, seeded):
    listed = get(gateway, limit=2).json()
    assert [s["name"] for s in listed["sessions"]] == ["c", "b"] and listed["next"] == seeded["b"]
    rest = get(gateway, limit=2, before=listed["next"]).json()
    assert [s["name"] for s in rest["sessions"]] == ["a"] and rest["next"] is None
    a = rest["sessions"][0]
    assert (a["frames"], a["people"], a["gap_frames"], a["reported_frames"], a["duration_s"]) == (20, 2, 3, 23, 10.0)

    detail = get(f"{gateway}/{seeded['a']}").json()
    assert detail["gaps"] == [{"first_seq": 20, "frames": 3, "started_at": T0 + 4, "ended_at": T0 + 4.5}]
    assert [p["id"] for p in detail["people_summary"]] == [1, 2]
    assert all(p["sightings"] == 20 and p["in_view_s"] == pytest.approx(19 / 6, abs=1e-3)
               for p in detail["people_summary"])

    response = get(f"{gateway}/{seeded['a']}/frames")
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 40 and list(rows[0])[:3] == ["time_s", "frame_id", "face_id"] and rows[-1]["time_s"] == "3.167"
    lines = get(f"{gateway}/{seeded['a']}/frames", format="jsonl").text.splitlines()
    assert len(lines) == 40 and set(json.loads(lines[0])["raw"]) == set(EMOTIONS)
    header = ["time_s", "frame_id", "face_id", "x", "y", "width", "height", "score", *EMOTIONS, "label", "confidence"]
    assert get(f"{gateway}/{seeded['b']}/frames").text == ",".join(header) + "\n"

    deleted = requests.delete(f"{gateway}/{seeded['a']}", headers=AUTH, timeout=30)
    assert deleted.status_code == 204
    for response in (get(f"{gateway}/{seeded['a']}"), get(f"{gateway}/{seeded['a']}/frames"),
                     requests.delete(f"{gateway}/{seeded['a']}", headers=AUTH, timeout=30)):
        assert_error(response, 404, "unknown_session")
    assert [s["name"] for s in get(gateway).json()["sessions"]] == ["c", "b"]
    assert len(get(f"{gateway}/{seeded['c']}/frames").text.splitlines()) == 1 + 10


@pytest.mark.parametrize("params", [{"limit": "0"}, {"limit": "201"}, {"limit": "abc"}, {"limit": "-1"},
                                    {"limit": "1e3"}, {"limit": "9" * 40}, {"limit": ""}, {"before": "nope"},
                                    {"before": "A" * 32}])
def test_bad_list_parameters_are_400(gateway, params):
    assert_error(get(gateway, **params), 400, "invalid_parameter")


def test_unknown_ids_bad_formats_and_no_token(gateway, seeded):
    for unknown in ("0" * 32, "not-an-id", "x" * 2000, "a/b"):
        assert_error(get(f"{gateway}/{unknown}"), 404, "unknown_session")
        assert_error(requests.delete(f"{gateway}/{unknown}", headers=AUTH, timeout=30), 404, "unknown_session")
    assert_error(get(f"{gateway}/{'0' * 32}/frames"), 404, "unknown_session")
    for fmt in ("xml", "CSV", "", "csv " * 500):
        assert_error(get(f"{gateway}/{seeded['a']}/frames", format=fmt), 400, "invalid_parameter")
    assert requests.get(gateway, timeout=30).status_code == 401
    assert requests.delete(f"{gateway}/{seeded['a']}", timeout=30).status_code == 401
    assert len(get(gateway).json()["sessions"]) == 3  # nothing changed


def test_a_database_that_is_down_is_503_and_the_gateway_goes_on(start_gateway):
    url, _ = start_gateway(SENTIVIS_DATABASE_URL=f"postgresql://nobody@127.0.0.1:{free_port()}/none")
    started = time.monotonic()
    response = requests.get(url + "/api/v1/sessions", timeout=30)
    assert_error(response, 503, "database_unavailable")
    assert time.monotonic() - started < 10
    assert requests.get(url + "/healthz", timeout=10).status_code == 200
