"""The machinery of the Swarm tests: this engine as a swarm manager, a second Docker engine in a
network namespace as a worker node, and stacks deployed from a compose file.

Network rule: the second engine lives in a namespace the test makes, joined to this machine by
one veth pair in a private /30 and nothing else (no default route), so every packet of the
test goes to loopback or to those two addresses. Everything made here is removed by the
`remove()`/`cleanup()` methods, which the fixtures call in finalizers, also after a failure.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from sentivis.settings import REPO_ROOT
from tests.support.waiting import wait_for

NICE = ["nice", "-n", "15"]  # Docker work is niced: the machine's CPUs are shared


class HarnessError(AssertionError):
    pass


def run(args: list[str], timeout: float = 120, check: bool = True, env: dict | None = None,
        input: str | None = None) -> subprocess.CompletedProcess:
    # errors="replace": redis-cli prints stream entries, whose payloads are binary
    result = subprocess.run(args, capture_output=True, text=True, errors="replace", timeout=timeout, env=env,
                            input=input, cwd=REPO_ROOT)
    if check and result.returncode != 0:
        raise HarnessError(f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout[-2000:]}\n"
                           f"{result.stderr[-2000:]}")
    return result


class Docker:
    """The docker CLI against one engine (this machine's, or a unix socket)."""

    def __init__(self, host: str | None = None, env: dict[str, str] | None = None):
        self.base = [*NICE, "docker", *(["-H", host] if host else [])]
        self.env = {**os.environ, **(env or {})}

    def __call__(self, *args: str, timeout: float = 120, check: bool = True, env: dict | None = None,
                 input: str | None = None) -> str:
        return run([*self.base, *args], timeout, check, {**self.env, **(env or {})}, input).stdout

    def ok(self, *args: str, timeout: float = 60) -> bool:
        return run([*self.base, *args], timeout, check=False, env=self.env).returncode == 0

    def info(self, template: str) -> str:
        return self("info", "--format", template, timeout=30).strip()


class Netns:
    """A network namespace joined to this machine by one veth pair in a private /30."""

    HOST_IP, WORKER_IP, PREFIX = "192.168.213.1", "192.168.213.2", 30

    def __init__(self):
        suffix = uuid.uuid4().hex[:6]
        self.name = f"sentivis-{suffix}"
        self.host_if, self.worker_if = f"svh{suffix}", f"svw{suffix}"
        self.path = f"/var/run/netns/{self.name}"

    def create(self) -> "Netns":
        routes = json.loads(run(["ip", "-j", "route", "show", "table", "all"]).stdout or "[]")
        clash = [r for r in routes if r.get("dst", "").startswith("192.168.213.")]
        if clash:
            raise HarnessError(f"192.168.213.0/30 is in use on this machine: {clash}")
        ip = ["ip"]
        run([*ip, "netns", "add", self.name])
        run([*ip, "link", "add", self.host_if, "type", "veth", "peer", "name", self.worker_if, "netns", self.name])
        run([*ip, "addr", "add", f"{self.HOST_IP}/{self.PREFIX}", "dev", self.host_if])
        run([*ip, "link", "set", self.host_if, "up"])
        run([*ip, "-n", self.name, "addr", "add", f"{self.WORKER_IP}/{self.PREFIX}", "dev", self.worker_if])
        run([*ip, "-n", self.name, "link", "set", self.worker_if, "up"])
        run([*ip, "-n", self.name, "link", "set", "lo", "up"])
        if run([*ip, "-n", self.name, "route", "show", "default"]).stdout.strip():
            raise HarnessError("the namespace must have no default route")
        return self

    def remove(self) -> None:
        run(["ip", "link", "del", self.host_if], check=False)  # takes its peer with it
        run(["ip", "netns", "del", self.name], check=False)


class WorkerDaemon:
    """A second dockerd inside the namespace: its own data and exec roots, socket, cgroup parent
    and host name, no bridge and no iptables rules. `nsenter --net` rather than `ip netns exec`,
    which remounts /sys and breaks dockerd."""

    def __init__(self, netns: Netns, root: Path):
        self.netns, self.root = netns, root
        suffix = netns.name.rsplit("-", 1)[1]
        self.hostname = f"sentivis-worker-{suffix}"
        self.cgroup = f"sentivis-worker-{suffix}"
        self.data, self.exec_root = root / "data", root / "exec"
        self.socket = root / "docker.sock"
        self.host = f"unix://{self.socket}"
        self.docker = Docker(self.host)
        self.proc: subprocess.Popen | None = None
        self.log_path = root / "dockerd.log"
        self._shim_sockets = self._shim_socket_files()

    def start(self, timeout: float = 90) -> "WorkerDaemon":
        for d in (self.data, self.exec_root):
            d.mkdir(parents=True, exist_ok=True)
        dockerd = ["dockerd", "--data-root", str(self.data), "--exec-root", str(self.exec_root),
                   "--pidfile", str(self.root / "dockerd.pid"), "-H", self.host, "--bridge=none",
                   "--iptables=false", "--ip-masq=false", f"--cgroup-parent={self.cgroup}",
                   "--storage-driver=overlay2", "--log-level=warn"]
        script = f"hostname {self.hostname} && exec {' '.join(NICE)} {' '.join(dockerd)}"
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(["nsenter", f"--net={self.netns.path}", "--", "unshare", "--uts", "--",
                                      "sh", "-c", script], stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        log.close()
        wait_for(lambda: self.proc.poll() is not None or self.docker.ok("info"), "the worker's dockerd", timeout,
                 interval=1)
        if self.proc.poll() is not None:
            raise HarnessError(f"the worker's dockerd exited:\n{self.log()}")
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def load_images(self, images: list[str], timeout: float = 900) -> None:
        """`docker save | docker load`: the images go over a pipe, never through a registry."""
        save = subprocess.Popen([*NICE, "docker", "save", *images], stdout=subprocess.PIPE)
        load = subprocess.run([*NICE, "docker", "-H", self.host, "load"], stdin=save.stdout, capture_output=True,
                              text=True, timeout=timeout)
        save.stdout.close()
        if save.wait(timeout=60) != 0 or load.returncode != 0:
            raise HarnessError(f"docker save | docker load failed: {load.stderr[-2000:]}")

    def join(self, token: str, manager: str) -> str:
        ip = self.netns.WORKER_IP
        self.docker("swarm", "join", "--token", token, "--advertise-addr", ip, "--listen-addr", f"{ip}:2377",
                    f"{manager}:2377", timeout=120)
        return self.docker.info("{{.Swarm.NodeID}}")

    # -- stopping -------------------------------------------------------------------------
    def _processes(self) -> list[int]:
        """This engine's processes: dockerd, its containerd and shims (they name the exec root)
        and every container process (in the cgroup parent)."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                cgroups = (entry / "cgroup").read_text()
            except OSError:
                continue
            if str(self.exec_root) in cmdline or f"/{self.cgroup}/" in cgroups or str(self.data) in cmdline:
                found.append(int(entry.name))
        if self.alive():
            found.append(self.proc.pid)
        return sorted(set(found))

    def kill(self) -> None:
        """The node's power goes: SIGKILL to the engine and everything it runs."""
        for _ in range(20):
            pids = self._processes()
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.5)
        if self.proc is not None:
            self.proc.wait(timeout=30)

    def cleanup(self) -> None:
        """Leave the swarm, stop the engine, then remove whatever it left: processes, mounts,
        cgroups, shim sockets, its data."""
        if self.alive():
            self.docker("swarm", "leave", "--force", timeout=60, check=False)
            ids = self.docker("ps", "-aq", timeout=30, check=False).split()
            if ids:
                self.docker("rm", "-f", *ids, timeout=120, check=False)
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                pass
        self.kill()
        mounts = [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()]
        for mount in sorted((m for m in mounts if m.startswith(str(self.root))), key=len, reverse=True):
            run(["umount", "-l", mount], check=False)
        for controller in Path("/sys/fs/cgroup").iterdir():
            top = controller / self.cgroup
            if top.is_dir():
                for d in sorted((p for p in top.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
                    _rmdir(d)
                _rmdir(top)
        for stale in self._shim_socket_files() - self._shim_sockets - self._bound_unix_sockets():
            stale.unlink(missing_ok=True)
        shutil.rmtree(self.root, ignore_errors=True)

    @staticmethod
    def _shim_socket_files() -> set[Path]:
        shims = Path("/run/containerd/s")
        return set(shims.iterdir()) if shims.is_dir() else set()

    @staticmethod
    def _bound_unix_sockets() -> set[Path]:
        lines = Path("/proc/net/unix").read_text().splitlines()[1:]
        return {Path(parts[-1]) for parts in (line.split() for line in lines) if len(parts) >= 8}


@dataclass
class Worker:
    """The second node: its engine and its node id in the swarm."""
    daemon: WorkerDaemon
    node_id: str

    @property
    def docker(self) -> Docker:
        return self.daemon.docker


def _rmdir(path: Path) -> None:
    try:
        path.rmdir()
    except OSError:
        pass


class Swarm:
    """This engine as the swarm manager, advertised on the veth's host end. A swarm made here is
    left (--force) at the end; one that was there already is kept, and then the two-node tests
    cannot run (its manager is advertised on an address the namespace cannot reach)."""

    def __init__(self, docker: Docker, netns: Netns):
        self.docker, self.netns = docker, netns
        self.initialised = False
        self._networks_before: set[str] = set()
        self.node_id = ""
        self.address = ""

    def ensure(self) -> "Swarm":
        if self.docker.info("{{.Swarm.LocalNodeState}}") != "active":
            self._networks_before = set(self.docker("network", "ls", "--format", "{{.Name}}").split())
            ip = self.netns.HOST_IP
            self.docker("swarm", "init", "--advertise-addr", ip, "--listen-addr", f"{ip}:2377", timeout=120)
            self.initialised = True
        self.node_id = self.docker.info("{{.Swarm.NodeID}}")
        self.address = self.docker.info("{{.Swarm.NodeAddr}}")
        return self

    @property
    def can_join_workers(self) -> bool:
        return self.address == self.netns.HOST_IP

    def worker_token(self) -> str:
        return self.docker("swarm", "join-token", "-q", "worker").strip()

    def node(self, node_id: str) -> dict:
        return json.loads(self.docker("node", "inspect", node_id))[0]

    def leave(self) -> None:
        if self.initialised:
            self.docker("swarm", "leave", "--force", timeout=120, check=False)
            # the bridge swarm tasks reach the outside through, made by the swarm we made
            if "docker_gwbridge" not in self._networks_before:
                self.docker("network", "rm", "docker_gwbridge", check=False)


class Stack:
    """One stack on the swarm: deploy, look at its tasks, remove it with its volumes."""

    def __init__(self, docker: Docker, name: str, compose_file: Path, env: dict[str, str]):
        self.docker, self.name, self.compose_file, self.env = docker, name, compose_file, env

    def deploy(self, env: dict[str, str] | None = None, check: bool = True) -> subprocess.CompletedProcess:
        # an empty environment but for what the stack file interpolates: no outside value leaks in
        full = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root"), **self.env, **(env or {})}
        return run([*self.docker.base, "stack", "deploy", "--resolve-image", "never", "-c", str(self.compose_file),
                    self.name], timeout=300, check=check, env=full)

    def service(self, name: str) -> str:
        return f"{self.name}_{name}"

    def tasks(self, service: str) -> list[dict]:
        out = self.docker("service", "ps", "--no-trunc", "--format", "{{json .}}", self.service(service))
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def running(self, service: str) -> list[dict]:
        """Tasks meant to run that do run, with their node id and container id."""
        found = []
        for task in self.tasks(service):
            if task["DesiredState"] != "Running" or not task["CurrentState"].startswith("Running"):
                continue
            spec = json.loads(self.docker("inspect", "--type", "task", task["ID"]))[0]
            status = spec.get("Status", {}).get("ContainerStatus", {})
            found.append({"id": task["ID"], "node": spec["NodeID"], "container": status.get("ContainerID", "")})
        return found

    def containers(self, service: str, docker: Docker | None = None) -> list[str]:
        return (docker or self.docker)("ps", "-q", "--filter", f"label=com.docker.swarm.service.name="
                                       f"{self.service(service)}").split()

    def healthy(self, service: str, replicas: int, docker: Docker | None = None) -> bool:
        containers = self.containers(service, docker)
        if len(containers) != replicas:
            return False
        states = (docker or self.docker)("inspect", "--format", "{{if .State.Health}}{{.State.Health.Status}}"
                                         "{{else}}none{{end}}", *containers).split()
        return all(s in ("healthy", "none") for s in states)

    def wait_healthy(self, replicas: dict[str, int], timeout: float = 300) -> None:
        def ready():
            return all(self.healthy(s, n) for s, n in replicas.items())

        try:
            wait_for(ready, f"stack {self.name} healthy {replicas}", timeout, interval=2)
        except AssertionError as exc:  # wait_for's
            raise HarnessError(f"{exc}\n{self.docker('stack', 'ps', '--no-trunc', self.name, check=False)}"
                               f"\n{self.logs(tail=30)}") from None

    def scale(self, **replicas: int) -> None:
        self.docker("service", "scale", "--detach", *(f"{self.service(s)}={n}" for s, n in replicas.items()))

    def update(self, service: str, *args: str, check: bool = True) -> None:
        self.docker("service", "update", "--detach", *args, self.service(service), timeout=120, check=check)

    def logs(self, tail: int = 200) -> str:
        out = []
        for service in self.docker("stack", "services", "--format", "{{.Name}}", self.name, check=False).split():
            try:
                result = run([*self.docker.base, "service", "logs", "--raw", "--tail", str(tail), service],
                             timeout=60, check=False)
            except subprocess.TimeoutExpired:
                out.append(f"==== {service}\n(its logs did not come within 60 s)")
                continue
            out.append(f"==== {service}\n{result.stdout}{result.stderr}")
        return "\n".join(out)

    def remove(self, timeout: float = 180) -> None:
        """The stack, then (once its containers are gone) its networks and volumes."""
        self.docker("stack", "rm", self.name, timeout=120, check=False)
        label = f"label=com.docker.stack.namespace={self.name}"

        def gone():
            return not self.docker("ps", "-aq", "--filter", label, check=False).split() and \
                not self.docker("network", "ls", "-q", "--filter", label, check=False).split()

        try:
            wait_for(gone, f"stack {self.name} removed", timeout, interval=2)
        finally:
            volumes = self.docker("volume", "ls", "-q", "--filter", label, check=False).split()
            if volumes:
                self.docker("volume", "rm", "-f", *volumes, check=False)
