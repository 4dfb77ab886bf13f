"""A three-node Docker Swarm on this machine, for the swarm engine tests (`make test-swarm`).

Each node is Debian's `dockerd` in its own network and UTS namespace (so each has its own address and host
name), with its own socket, data root, exec root and pid file under a temporary directory; the namespaces are
joined by a bridge inside a fourth namespace, so the host's firewall (FORWARD set to DROP by the host's Docker) is
neither in the way nor changed. Node 1 initialises the swarm, the
others join it. Traffic stays on the bridge's addresses (10.213.x.0/24, inside these namespaces) and on unix
sockets. `close` stops only the daemons it started, by pid, and removes what it created.

The stand-in image is a Debian bookworm rootfs made with `mmdebstrap` and `docker import`ed on every node,
cached under build/ (keyed by its package list); the stand-in script is added as a layer on each node. Facts this relies on, found here:
`ip netns exec` remounts /sys and dockerd then fails ("Devices cgroup isn't mounted"), so dockerd starts under
`nsenter --net`; this kernel has no IPVS, so services use `dnsrr` and host-mode ports.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import signal
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import docker

ROOT = Path(__file__).resolve().parent.parent
STANDIN_SCRIPT = Path(__file__).resolve().parent / "standin_server.py"
STANDIN_IMAGE = "mesh-standin:bookworm"
PACKAGES = ("python3", "curl", "wget", "procps")
"""What the catalog's probes run (curl, wget, bash, python) and what the tests read tasks with."""
API_VERSION = "1.41"
"""dockerd 20.10's API."""
REQUIRED_TOOLS = ("dockerd", "mmdebstrap", "ip", "nsenter", "unshare")

T = TypeVar("T")


def missing_prerequisites() -> list[str]:
    """Why a swarm cannot be started here (empty: it can)."""
    missing = [f"{tool} is not installed" for tool in REQUIRED_TOOLS if shutil.which(tool) is None]
    if os.geteuid() != 0:
        missing.append("the swarm tier needs root (network namespaces, dockerd)")
    return missing


def wait_for(what: str, check: Callable[[], T | None], timeout_s: float, interval_s: float = 1.0) -> T:
    """Poll `check` until it returns something truthy; fail naming `what` after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            found = check()
            if found:
                return found
        except Exception as error:  # the daemon may not answer yet
            last_error = error
        time.sleep(interval_s)
    raise TimeoutError(f"timed out after {timeout_s:g}s waiting for {what}" + (f" (last error: {last_error})" if last_error else ""))


def _run(*command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(command), check=check, capture_output=True, text=True)


def standin_rootfs(cache_dir: Path = ROOT / "build" / "swarm") -> Path:
    """The stand-in rootfs tarball, built once with mmdebstrap and cached by its inputs."""
    key = hashlib.sha256(" ".join(PACKAGES).encode()).hexdigest()[:12]
    tarball = cache_dir / f"standin-bookworm-{key}.tar"
    if tarball.exists():
        return tarball
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = tarball.with_suffix(".partial.tar")
    _run(
        "mmdebstrap",
        "--quiet",
        "--variant=minbase",
        f"--include={','.join(PACKAGES)}",
        '--customize-hook=chroot "$1" ln -sf /usr/bin/python3 /usr/local/bin/python',
        "bookworm",
        str(partial),
    )
    partial.rename(tarball)
    return tarball


@dataclass
class Node:
    index: int
    netns: str
    address: str
    root: Path
    hostname: str
    process: subprocess.Popen[bytes] | None = None
    client: docker.APIClient | None = None

    @property
    def socket(self) -> Path:
        return self.root / "docker.sock"

    @property
    def api(self) -> docker.APIClient:
        assert self.client is not None, f"{self.hostname}'s daemon is not started"
        return self.client

    def in_netns(self, *command: str) -> subprocess.CompletedProcess[str]:
        """Run a command in this node's network namespace (its loopback is where host-mode ports also answer)."""
        return _run("nsenter", f"--net=/var/run/netns/{self.netns}", *command, check=False)


@dataclass
class SwarmCluster:
    """Three dockerd in namespaces on one bridge, formed into a swarm (node 1 manages)."""

    size: int = 3
    subnet_prefix: str = "10.213.0"
    tag: str = field(default_factory=lambda: f"{os.getpid() % 100000}")
    nodes: list[Node] = field(default_factory=list)
    workdir: Path | None = None
    _switch_created: bool = False

    def __post_init__(self) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="mesh-swarm-"))
        self.bridge = f"msw{self.tag}b"
        self.switch = f"msw{self.tag}sw"

    @property
    def manager(self) -> Node:
        return self.nodes[0]

    def start(self) -> None:
        # the bridge lives in a namespace of its own: bridged frames meet that namespace's empty firewall, not the
        # host's FORWARD chain (which the host's Docker sets to DROP and other daemons rewrite)
        _run("ip", "netns", "add", self.switch)
        self._switch_created = True
        _run("ip", "netns", "exec", self.switch, "ip", "link", "add", self.bridge, "type", "bridge")
        _run("ip", "netns", "exec", self.switch, "ip", "link", "set", self.bridge, "up")
        for index in range(1, self.size + 1):
            self.nodes.append(self._start_node(index))
        for node in self.nodes:
            node.client = wait_for(f"{node.hostname}'s daemon", partial(self._ping, node), 90)
        self._form_swarm()

    def _start_node(self, index: int) -> Node:
        assert self.workdir is not None
        netns = f"msw{self.tag}n{index}"
        node = Node(index, netns, f"{self.subnet_prefix}.{10 + index}", self.workdir / f"node{index}", f"node{index}")
        node.root.mkdir(parents=True)
        _run("ip", "netns", "add", netns)
        host_end, node_end = f"msw{self.tag}h{index}", f"msw{self.tag}p{index}"
        _run("ip", "link", "add", host_end, "type", "veth", "peer", "name", node_end)
        _run("ip", "link", "set", host_end, "netns", self.switch)
        _run("ip", "netns", "exec", self.switch, "ip", "link", "set", host_end, "master", self.bridge, "up")
        _run("ip", "link", "set", node_end, "netns", netns)
        inside = ["ip", "netns", "exec", netns]
        _run(*inside, "ip", "link", "set", "lo", "up")
        _run(*inside, "ip", "link", "set", node_end, "name", "eth0")
        _run(*inside, "ip", "addr", "add", f"{node.address}/24", "dev", "eth0")
        _run(*inside, "ip", "link", "set", "eth0", "up")
        dockerd = [
            "dockerd",
            f"--data-root={node.root / 'data'}",
            f"--exec-root={node.root / 'exec'}",
            f"--pidfile={node.root / 'docker.pid'}",
            f"--host=unix://{node.socket}",
            f"--cgroup-parent=/mesh-swarm-{self.tag}-node{index}",
            "--storage-driver=overlay2",
            "--log-level=warn",
        ]
        # not `ip netns exec` (it remounts /sys); a UTS namespace gives each node its own host name
        command = [
            "nsenter",
            f"--net=/var/run/netns/{netns}",
            "unshare",
            "--uts",
            "sh",
            "-c",
            f'hostname {node.hostname} && exec "$@"',
            "sh",
        ]
        log = (node.root / "dockerd.log").open("wb")
        # a task's image is used when present, without asking a registry (none is reachable here)
        environment = {**os.environ, "DOCKER_SERVICE_PREFER_OFFLINE_IMAGE": "1"}
        node.process = subprocess.Popen([*command, *dockerd], stdout=log, stderr=subprocess.STDOUT, env=environment, start_new_session=True)
        return node

    @staticmethod
    def _ping(node: Node) -> docker.APIClient | None:
        if node.process is not None and node.process.poll() is not None:
            raise RuntimeError(f"{node.hostname}'s dockerd exited: {(node.root / 'dockerd.log').read_text()[-2000:]}")
        if not node.socket.exists():
            return None
        client = docker.APIClient(base_url=f"unix://{node.socket}", version=API_VERSION, timeout=120)
        return client if client.ping() else None

    def _form_swarm(self) -> None:
        manager = self.manager
        manager.api.init_swarm(advertise_addr=manager.address, listen_addr=f"{manager.address}:2377")
        token = manager.api.inspect_swarm()["JoinTokens"]["Worker"]
        for node in self.nodes[1:]:
            try:
                node.api.join_swarm([f"{manager.address}:2377"], token, listen_addr=f"{node.address}:2377", advertise_addr=node.address)
            except docker.errors.APIError as error:
                # on a busy machine the join outlasts the API call; the daemon keeps joining in the background
                if "continue in the background" not in str(error):
                    raise
        wait_for(
            f"{self.size} ready nodes", lambda: len([n for n in manager.api.nodes() if n["Status"]["State"] == "ready"]) == self.size, 180
        )

    def swarm_node(self, node: Node) -> dict[str, Any]:
        found: dict[str, Any] = next(n for n in self.manager.api.nodes() if n["Description"]["Hostname"] == node.hostname)
        return found

    def label(self, node: Node, labels: dict[str, str]) -> None:
        swarm_node = self.swarm_node(node)
        spec = swarm_node["Spec"]
        spec["Labels"] = {**spec.get("Labels", {}), **labels}
        self.manager.api.update_node(swarm_node["ID"], swarm_node["Version"]["Index"], spec)

    def load_image(self, tarball: Path, tags: list[str]) -> None:
        """`docker import` the stand-in rootfs on every node, add the stand-in script as a layer, and tag the result with
        the image names the services use."""
        script = io.BytesIO()
        with tarfile.open(fileobj=script, mode="w") as archive:
            archive.add(STANDIN_SCRIPT, arcname=STANDIN_SCRIPT.name)
        repository, _, tag = STANDIN_IMAGE.partition(":")
        for node in self.nodes:
            base = node.api.import_image_from_file(str(tarball), repository=f"{repository}-base", tag=tag)
            assert "error" not in str(base).lower(), base
            container = node.api.create_container(f"{repository}-base:{tag}", command=["true"])
            try:
                node.api.put_archive(container["Id"], "/usr/local/bin", script.getvalue())
                node.api.commit(container["Id"], repository=repository, tag=tag)
            finally:
                node.api.remove_container(container["Id"])
            for name in tags:
                target, _, target_tag = name.rpartition(":")
                node.api.tag(STANDIN_IMAGE, target, target_tag)

    def node_named(self, hostname: str) -> Node:
        return next(node for node in self.nodes if node.hostname == hostname)

    def close(self) -> None:
        """Stop our daemons by pid (their containers stop with them), then remove namespaces, links, rule and files."""
        for node in self.nodes:
            if node.process is not None and node.process.poll() is None:
                node.process.send_signal(signal.SIGTERM)
        for node in self.nodes:
            if node.process is None:
                continue
            try:
                node.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(node.process.pid, signal.SIGKILL)
                node.process.wait(timeout=10)
        for node in self.nodes:
            _run("ip", "netns", "del", node.netns, check=False)
        if self._switch_created:
            _run("ip", "netns", "del", self.switch, check=False)  # takes the bridge and the veth ends with it
        if self.workdir is not None:
            # dockerd leaves its overlay and netns mounts behind when it dies; detach them before removing the files
            _run("umount", "-R", "-l", str(self.workdir), check=False)
            mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines() if str(self.workdir) in line.split()[1]]
            for mount in sorted(mounts, reverse=True):
                _run("umount", "-l", mount, check=False)
            shutil.rmtree(self.workdir, ignore_errors=True)
