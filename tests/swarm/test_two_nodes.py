"""Two nodes: the worker engine in its network namespace gets the images by `docker save | docker
load`, joins, and runs every detector and classifier; frames are answered across the overlay
network (gateways, Redis, the trainer and nginx stay on the manager), with the emotion model a
training job registered on the manager: the classifier on the worker has no models volume and
serves it from its bytes in Redis. Then the worker's engine is killed with everything it runs,
as a node that loses power: swarm marks it down, the operator lets the manager run the workers
(a node label), and the stack answers again from the manager alone.
Runs last: it leaves the worker dead (the fixture removes what remains)."""
from __future__ import annotations

import os
import time

from sentivis import streams
from tests.support.fer import write_tiny_fer_csv
from tests.support.frames import results_flow_again
from tests.support.waiting import wait_for
from tests.swarm.app import TOKEN, client, get
from toolkit.samples import astronaut_frame

COMPUTE = "sentivis.compute"
WORKERS = ("detector", "classifier")


def nodes_of(app, service: str) -> list[str]:
    return sorted(t["node"] for t in app.stack.running(service))


def train_on_the_manager(app, docker, tmp_path) -> dict:
    """A one-epoch training job through the API; the trainer (on the manager) exports into its own
    models volume and registers the model, its bytes included. Returns the registry's record."""
    write_tiny_fer_csv(tmp_path / "fer-small.csv")
    docker("run", "--rm", "-i", "-v", f"{app.stack.name}_datasets:/data", "redis:7", "sh", "-c",
           "cat > /data/fer-small.csv && chmod 644 /data/fer-small.csv", input=(tmp_path / "fer-small.csv").read_text(),
           timeout=120)
    status, job = get("/api/v1/training-jobs", TOKEN, body={"dataset": "fer-small.csv", "epochs": 1, "batch_size": 32,
                                                            "widths": [4, 8], "threads": 1})
    assert status == 202, job
    done = wait_for(lambda: (j := get(f"/api/v1/training-jobs/{job['id']}", TOKEN)[1])["state"] in
                    ("succeeded", "failed") and j, "the training job done", 600, interval=2)
    assert done["state"] == "succeeded", done
    (record,) = [v for v in get("/api/v1/models", TOKEN)[1]["versions"] if v["version"] == done["model_version"]]
    return record


def test_workers_on_a_second_node_answer_across_the_overlay_and_the_manager_takes_over(app, docker, swarm, worker,
                                                                                       tmp_path):
    trained = train_on_the_manager(app, docker, tmp_path)
    tag = os.environ.get("SENTIVIS_IMAGE_TAG", "latest")
    # the frontend too: nginx runs on every node (mode: global)
    worker.daemon.load_images([f"sentivis-{s}:{tag}" for s in (*WORKERS, "frontend")])
    docker("node", "update", "--availability", "active", "--label-add", f"{COMPUTE}=true", worker.node_id)
    try:
        app.stack.scale(detector=1, classifier=1)
        for service in WORKERS:
            app.stack.update(service, "--constraint-add", f"node.labels.{COMPUTE}==true")

        def on_the_worker():
            return all(nodes_of(app, s) == [worker.node_id] and app.stack.healthy(s, 1, worker.docker)
                       and not app.stack.containers(s) for s in WORKERS)

        wait_for(on_the_worker, "one detector and one classifier running on the worker, none on the manager", 300,
                 interval=2)
        for service in ("gateway", "redis-1"):
            assert set(nodes_of(app, service)) == {swarm.node_id}, service
        ready = wait_for(lambda: (r := get("/readyz", TOKEN)[1]).get("detectors") == 1 and r.get("classifiers") == 1
                         and r["models"]["emotion"].get("version") == trained["version"] and r,
                         "/readyz counts the worker's replicas, its classifier serving the trained model", 120,
                         interval=1)
        # the trained file is on the manager's models volume only: the worker's classifier loaded the bytes
        served = ready["models"]["emotion"]
        assert served["source"] == "registry" and served["path"] == streams.model_bytes_key(trained["sha256"]), served
        (classifier,) = app.stack.containers("classifier", worker.docker)
        assert not worker.docker.ok("exec", classifier, "test", "-e", trained["path"]), "no shared models volume"
        image, _ = astronaut_frame()
        browser = client()
        try:
            # every answer crossed the overlay twice: Redis and the gateways are on the manager
            frame_id = results_flow_again(browser, image, 1)
            name, event = browser.of(frame_id - 1)[0]
            assert name == "inference" and event["models"]["emotion"]["version"] == trained["version"], event

            lost = time.monotonic()
            worker.daemon.kill()
            wait_for(lambda: swarm.node(worker.node_id)["Status"]["State"] == "down",
                     "the manager marks the worker down", 120, interval=1)
            down_s = time.monotonic() - lost
            # the operator's answer to losing the compute node: the manager may run the workers
            docker("node", "update", "--label-add", f"{COMPUTE}=true", swarm.node_id)
            wait_for(lambda: all(nodes_of(app, s) == [swarm.node_id] and app.stack.healthy(s, 1)
                                 for s in WORKERS), "detector and classifier running on the manager", 300,
                     interval=2)
            results_flow_again(browser, image, frame_id, timeout=120)
            print(f"\nworker node lost: marked down after {down_s:.0f} s, frames answered from the manager "
                  f"{time.monotonic() - lost:.0f} s after the loss")
        finally:
            browser.close()
    finally:
        docker("node", "update", "--label-rm", COMPUTE, swarm.node_id, check=False)
        for service in WORKERS:
            app.stack.update(service, "--constraint-rm", f"node.labels.{COMPUTE}==true", check=False)
