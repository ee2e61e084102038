"""The sessions database on Kubernetes: PostgreSQL on a volume, its password from a Secret the
render refuses to go without, reached by the recorder and the gateways alone."""
from __future__ import annotations

import base64
from urllib.parse import urlsplit

from tests.deploy.render import POSTGRES_PASSWORD, containers, kustomize, labels_match, overlay

USERS = {"sentivis-gateway", "sentivis-recorder"}  # the workloads that read or write recorded sessions


def secret_named(docs, prefix: str) -> dict:
    (secret,) = [s for s in docs.kind("Secret") if s["metadata"]["name"].startswith(prefix)]
    return secret


def env_of(container: dict) -> dict[str, dict]:
    return {e["name"]: e for e in container.get("env", [])}


def test_the_render_fails_without_a_postgres_password(tmp_path):
    result = kustomize(overlay(tmp_path, postgres_password=False))
    assert result.returncode != 0
    assert "postgres-password" in result.stderr


def test_postgres_keeps_its_data_on_a_volume_with_the_secrets_password(variant):
    _, docs, _ = variant
    secret = secret_named(docs, "sentivis-postgres")
    assert base64.b64decode(secret["data"]["password"]).decode() == POSTGRES_PASSWORD
    postgres = docs.one("StatefulSet", "sentivis-postgres")
    (container,) = containers(postgres)
    env = env_of(container)
    assert env["POSTGRES_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": secret["metadata"]["name"],
                                                                      "key": "password"}
    data = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}["/var/lib/postgresql/data"]
    (claim,) = [c for c in postgres["spec"]["volumeClaimTemplates"] if c["metadata"]["name"] == data]
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert env["PGDATA"]["value"].startswith("/var/lib/postgresql/data/"), "a folder of the volume, not its root"
    assert "pg_isready" in container["readinessProbe"]["exec"]["command"]


def test_only_the_gateways_and_the_recorder_get_the_database_and_reach_it(variant):
    _, docs, _ = variant
    secret = secret_named(docs, "sentivis-postgres")["metadata"]["name"]
    service = docs.one("Service", "sentivis-postgres")
    given = set()
    for workload in docs.workloads():
        for container in containers(workload):
            env = env_of(container)
            if "SENTIVIS_DATABASE_URL" not in env:
                continue
            given.add(workload["metadata"]["name"])
            assert env["SENTIVIS_POSTGRES_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": secret, "key": "password"}
            # the password comes in by Kubernetes' $(VAR) expansion of a variable defined before it
            names = list(env)
            assert names.index("SENTIVIS_POSTGRES_PASSWORD") < names.index("SENTIVIS_DATABASE_URL")
            url = urlsplit(env["SENTIVIS_DATABASE_URL"]["value"])
            assert url.scheme == "postgresql+psycopg" and url.password == "$(SENTIVIS_POSTGRES_PASSWORD)"
            assert (url.hostname, url.port) == (service["metadata"]["name"], service["spec"]["ports"][0]["port"])
    assert given == USERS
    policy = docs.one("NetworkPolicy", "sentivis-postgres")
    labels = {w["metadata"]["name"]: w["spec"]["template"]["metadata"]["labels"] for w in docs.workloads()}
    assert labels_match(policy["spec"]["podSelector"], labels["sentivis-postgres"])
    (rule,) = policy["spec"]["ingress"]
    (peer,) = rule["from"]
    admitted = {name for name, pod in labels.items() if labels_match(peer["podSelector"], pod)}
    assert admitted == USERS
    assert [p["port"] for p in rule["ports"]] == [5432]
