"""The product as users deploy it: docker-compose.yml built and run for real.

Images are built from the working tree, the stack comes up under a project name of its own,
real face frames go through nginx (the frontend container) to the gateway, detectors and
classifiers, and the stack is taken down with its volumes at the end. Run with
`make test-compose` (it needs a Docker engine; tests/compose/conftest.py skips it otherwise).
The machinery is in tests/compose/support.py, the frame helpers it shares with the swarm tests
in tests/support/frames.py.
"""
from __future__ import annotations

import json
import os
import subprocess
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from sentivis.labels import EMOTIONS
from sentivis.settings import REPO_ROOT
from tests.compose.support import (
    BUILD_TIMEOUT_S,
    HEALTH_TIMEOUT_S,
    HTTP_PORT,
    URL,
    Compose,
    People,
    health,
    wait_healthy,
)
from tests.support.fer import write_tiny_fer_csv
from tests.support.frames import face_results, results_flow_again, run_driver, stream_frames
from tests.support.waiting import wait_for
from toolkit.client import FrameClient
from toolkit.processes import get_json
from toolkit.samples import astronaut_frame, iou, pasted_frame


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    datasets = tmp_path_factory.mktemp("datasets")
    write_tiny_fer_csv(datasets / "tiny.csv")
    datasets.chmod(0o755)  # the trainer reads it as an unprivileged user
    (datasets / "tiny.csv").chmod(0o644)
    project = f"sentivis-test-{uuid.uuid4().hex[:8]}"
    compose = Compose(project, {"SENTIVIS_HTTP_PORT": str(HTTP_PORT), "SENTIVIS_DATASETS_PATH": str(datasets),
                                "SENTIVIS_HTTP_BIND": "127.0.0.1"})
    started = time.monotonic()
    compose("--profile", "training", "build", timeout=BUILD_TIMEOUT_S)
    print(f"\ncompose build: {time.monotonic() - started:.0f} s")
    try:
        compose("up", "-d", timeout=HEALTH_TIMEOUT_S + 120)
        wait_healthy(compose, {"redis": 1, "postgres": 1, "recorder": 1, "gateway": 1, "detector": 1, "classifier": 1,
                               "frontend": 1})
        print(f"stack healthy after {time.monotonic() - started:.0f} s")
        yield compose
    finally:
        logs = compose("logs", "--no-color", "--tail", "200", check=False, timeout=60)
        (REPO_ROOT / "test-artifacts").mkdir(exist_ok=True)
        (REPO_ROOT / "test-artifacts" / f"{project}.log").write_text(logs)
        compose("--profile", "training", "down", "-v", "--remove-orphans", "--timeout", "10", check=False,
                timeout=180)


def test_static_app_and_gateway_routes_through_nginx(stack):
    with urllib.request.urlopen(URL + "/", timeout=5) as response:
        assert response.status == 200 and b"<html" in response.read().lower()
    with urllib.request.urlopen(URL + "/healthz", timeout=5) as response:
        assert json.loads(response.read())["status"] == "ok"
    with urllib.request.urlopen(URL + "/readyz", timeout=5) as response:
        ready = json.loads(response.read())
    assert ready["ready"] and ready["detectors"] == 1 and ready["classifiers"] == 1
    with urllib.request.urlopen(URL + "/api/v1/models", timeout=5) as response:
        assert response.status == 200


def test_faces_and_emotions_come_back_through_nginx(stack):
    """Real faces over a WebSocket through nginx: boxes where the faces are, labels from the shipped model."""
    image, box = astronaut_frame()
    pasted, boxes = pasted_frame()
    client = FrameClient(URL)
    try:
        assert client.sio.transport() == "websocket"
        name, event = stream_frames(client, image, 1, 1, timeout=30)[0]
        assert name == "inference", event
        assert len(event["faces"]) == 1 and iou(event["faces"][0]["box"], box) > 0.5
        name, event = stream_frames(client, pasted, 2, 1)[0]
        assert name == "inference", event
        assert len(event["faces"]) == len(boxes) == 3
        for place in boxes:
            assert iou(max(event["faces"], key=lambda f: iou(f["box"], place))["box"], place) > 0.5, event["faces"]
        # the shipped emotion model, baked into the classifier image
        assert event["models"]["emotion"]["ready"] is True, event["models"]
        for face in event["faces"]:
            emotion = face["emotion"]
            assert emotion["label"] in EMOTIONS
            assert list(emotion["probabilities"]) == list(EMOTIONS)
            assert abs(sum(emotion["probabilities"].values()) - 1) < 1e-3
    finally:
        client.close()


@pytest.mark.parametrize("client", ["python", "node"])
def test_clients_with_their_librarys_defaults_stream_through_nginx(stack, client, tmp_path):
    """`socketio.Client()` and `io(url)` as they come: long-polling through nginx, then the upgrade."""
    image, _ = pasted_frame()
    paths = [tmp_path / f"{i}.jpg" for i in range(3)]
    for path in paths:
        path.write_bytes(image)
    report = run_driver(client, URL, "default", paths)
    assert report["transport"] == "websocket", report
    assert [a["event"] for a in report["answers"]] == ["inference"] * 3
    assert all(len(a["faces"]) == 3 and a["faces"][0]["emotion"] for a in report["answers"]), report["answers"]
    assert [e["code"] for e in report["errors"]] == ["not_jpeg", "invalid_frame_id"]
    assert report["after_reconnect"]["answer"]["event"] == "inference"


def test_twenty_five_people_behind_nginx_all_connect(stack, tmp_path):
    """25 browsers, each on its own address, through nginx: each counts as itself (nginx is a trusted
    proxy), not as nginx's one address against the per-address limit of 20."""
    frame = tmp_path / "face.jpg"
    frame.write_bytes(astronaut_frame()[0])
    with People(stack.containers("frontend")[0], 25) as people:
        report = people.connect(frame)
    assert not report["refused"], report["refused"]
    assert sorted(report["connected"]) == sorted(people.addresses)
    assert sorted(report["answers"].values()) == [1] * 25, report["answers"]  # each got its face back


def test_one_address_is_capped_whatever_it_claims(stack):
    """25 connections from this one machine through nginx, each forging another X-Forwarded-For: nginx
    appends the address it saw, the gateway reads that one, and the limit of 20 holds."""
    import socketio

    clients, refusals = [], []
    try:
        clients = [FrameClient(URL, headers={"X-Forwarded-For": f"198.51.100.{i}"}, timeout=15) for i in range(20)]
        for i in range(20, 25):
            sio, reasons = socketio.Client(reconnection=False), []
            sio.on("connect_error", lambda data=None, reasons=reasons: reasons.append(data))
            with pytest.raises(socketio.exceptions.ConnectionError):
                sio.connect(URL, headers={"X-Forwarded-For": f"198.51.100.{i}"}, transports=["websocket"],
                            wait_timeout=15)
            refusals.append(reasons[0]["message"])
        assert all(r.startswith("too_many_connections") for r in refusals), refusals
    finally:
        for client in clients:
            client.close()


def test_scaled_detectors_share_the_frames(stack):
    stack("up", "-d", "--scale", "detector=2", "--scale", "classifier=2", timeout=HEALTH_TIMEOUT_S + 120)
    wait_healthy(stack, {"detector": 2, "classifier": 2, "gateway": 1, "frontend": 1})
    wait_for(lambda: len(stack.heartbeats("detector")) == 2, "two detector heartbeats", 30, interval=1)
    before = {c: b["processed"] for c, b in stack.heartbeats("detector").items()}
    image, _ = astronaut_frame()
    clients = [FrameClient(URL) for _ in range(3)]
    errors = []

    def send(client, offset):
        try:
            stream_frames(client, image, offset, 20)
        except Exception as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    try:
        threads = [threading.Thread(target=send, args=(c, 1000 * (i + 1))) for i, c in enumerate(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert not errors, errors
        assert all(len(face_results(c.events)) >= 15 for c in clients), [len(c.events) for c in clients]
    finally:
        for c in clients:
            c.close()

    def both_grew():
        after = {c: b["processed"] for c, b in stack.heartbeats("detector").items()}
        grown = {c: after.get(c, 0) - n for c, n in before.items()}
        return grown if len(grown) == 2 and all(g > 0 for g in grown.values()) else None

    grown = wait_for(both_grew, "both detector replicas processing frames", 15, interval=1)
    print(f"frames per detector replica: {grown}")


def test_killed_classifiers_the_other_replica_and_the_restart_policy_take_over(stack):
    classifiers = stack.containers("classifier")
    assert len(classifiers) == 2
    image, _ = astronaut_frame()
    client = FrameClient(URL)
    try:
        # `docker kill` is a deliberate stop to the engine (no restart): the other replica serves
        subprocess.run(["docker", "kill", classifiers[0]], check=True, capture_output=True, timeout=30)
        frame_id = results_flow_again(client, image, 5000)
        # a crash of the last replica (its process killed from the host): the restart policy brings it back
        pid = subprocess.run(["docker", "inspect", "--format", "{{.State.Pid}}", classifiers[1]], check=True,
                             capture_output=True, text=True).stdout.strip()
        os.kill(int(pid), 9)

        def restarted_and_healthy():
            count = subprocess.run(["docker", "inspect", "--format", "{{.RestartCount}}", classifiers[1]],
                                   capture_output=True, text=True).stdout.strip()
            return count not in ("", "0") and health(classifiers[1]) == "running healthy"

        wait_for(restarted_and_healthy, "the crashed classifier restarted and healthy", HEALTH_TIMEOUT_S, interval=1)
        results_flow_again(client, image, frame_id)
    finally:
        client.close()
    # `up` restores the declared scale after the deliberate kill
    stack("up", "-d", "--scale", "detector=2", "--scale", "classifier=2", timeout=HEALTH_TIMEOUT_S + 120)
    wait_healthy(stack, {"classifier": 2, "detector": 2})


def test_trainer_one_shot_writes_where_classifiers_read(stack):
    """`run --rm trainer train` reads the read-only datasets volume and writes into the models
    volume, which the classifiers see at the same absolute path."""
    out = stack("--profile", "training", "run", "--rm", "trainer", "train", "/data/tiny.csv", "--epochs", "1",
                "--batch-size", "32", "--threads", "1", "--output", "/var/lib/sentivis/models/tiny.pt",
                timeout=600)
    assert "best validation accuracy" in out, out
    classifier = stack.containers("classifier")[0]
    listed = subprocess.run(["docker", "exec", classifier, "ls", "/var/lib/sentivis/models"], capture_output=True,
                            text=True, timeout=30)
    assert "tiny.pt" in listed.stdout, listed
    refused = stack("--profile", "training", "run", "--rm", "--entrypoint", "touch", "trainer", "/data/x",
                    check=False, timeout=120)
    assert not (Path(stack.env["SENTIVIS_DATASETS_PATH"]) / "x").exists(), refused


def test_trainer_worker_service_becomes_healthy(stack):
    stack("--profile", "training", "up", "-d", "trainer", timeout=300)
    wait_healthy(stack, {"trainer": 1}, timeout=240)


def test_a_recorded_session_outlives_down_and_up_a_backup_restores_it_and_it_can_be_deleted(stack):
    """Recorded through nginx into PostgreSQL (the postgres-data volume): still there after
    `docker compose down` and `up`, its CSV one row per face answered; deleted, then back from a
    dump taken before, as docs/DEPLOY.md restores one; and gone once deleted."""
    image, _ = astronaut_frame()
    client = FrameClient(URL)
    try:
        client.sio.emit("session_start", {"name": "compose study"})
        client.wait(lambda events: any(n == "session" for n, _ in events), timeout=30)
        [started] = [p for n, p in client.events if n == "session"]
        answers = stream_frames(client, image, 1, 5, timeout=30)
        client.sio.emit("session_stop")
        client.wait(lambda events: sum(n == "session" for n, _ in events) == 2, timeout=30)
    finally:
        client.close()
    faces = sum(len(event["faces"]) for name, event in answers if name == "inference")
    session_url = f"{URL}/api/v1/sessions/{started['id']}"

    def written():
        status, body = get_json(session_url)
        return status == 200 and body["frames"] == 5 and body["ended_at"] is not None and body

    before = wait_for(written, "the session written", 60, interval=1)
    stack("down", "--timeout", "10", timeout=180)
    stack("up", "-d", timeout=HEALTH_TIMEOUT_S + 120)
    wait_healthy(stack, {"postgres": 1, "recorder": 1, "gateway": 1, "frontend": 1})
    after = wait_for(written, "the session after down and up", 60, interval=1)
    assert (after["name"], after["frames"], after["people"]) == (before["name"], 5, before["people"])
    with urllib.request.urlopen(session_url + "/frames?format=csv", timeout=10) as response:
        rows = response.read().decode().strip().splitlines()[1:]
    assert len(rows) == faces

    def delete() -> None:
        with urllib.request.urlopen(urllib.request.Request(session_url, method="DELETE"), timeout=10) as response:
            assert response.status == 204
        assert get_json(session_url)[0] == 404

    dump = stack.binary("exec", "-T", "postgres", "pg_dump", "-U", "sentivis", "-Fc", "sentivis")
    delete()
    stack("stop", "gateway", "recorder", timeout=120)
    stack.binary("exec", "-T", "postgres", "pg_restore", "-U", "sentivis", "-d", "sentivis", "--clean", "--if-exists",
                 stdin=dump)
    stack("up", "-d", timeout=HEALTH_TIMEOUT_S + 120)
    wait_healthy(stack, {"recorder": 1, "gateway": 1, "frontend": 1})
    restored = wait_for(written, "the session restored from the dump", 60, interval=1)
    assert (restored["name"], restored["frames"], restored["people"]) == (before["name"], 5, before["people"])
    delete()
