"""What cAdvisor's container can reach of the host, on a real Docker Engine (the private dockerd).

The program's own cadvisor registration becomes the create call pulumi-docker makes (`replay.translate`); only
the image is a stand-in (no cAdvisor is packaged here: docs/engine-standins.md) running `sleep`, and the
container joins no network, because what is under test is the mount namespace the daemon builds from the
program's inputs, not cAdvisor. Host paths that do not exist here (`/dev/disk`) are left out rather than
created on this host by the daemon.

- The host's runtime sockets live in /run; the `/` -> `/rootfs` mount would show them at /rootfs/run, and the
  catalog's masks (an empty read-only tmpfs at /rootfs/run and /rootfs/var/run) hide them.
- What cAdvisor v0.52.1 reads under /rootfs (/proc, /var/lib/docker, /etc/machine-id) is still the host's.
- The host's /proc at /rootfs/proc opens /proc/<pid>/root of every process the kernel lets cAdvisor (root, with
  Docker's default capabilities, no CAP_SYS_PTRACE) inspect: a root process without capabilities holding the
  socket in its mount namespace would hand it over. The socket proxy's HAProxy runs as uid 99, so it does not.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from components.offline.engine.daemon import PrivateDaemon
from components.offline.engine.replay import ContainerSpec, create_container, plan_containers
from components.offline.engine.standins import ensure_standin
from components.offline.synth import Capture
from components.offline.types import CONTAINER
from tests.host_tools import require
from tests.socket_proxy import host_proxy

ROOT = Path(__file__).resolve().parents[2]
SHELL_IMAGE_SERVICE = "node-exporter"
"""A stand-in with a shell and coreutils (Debian's rootfs); any would do, none of its programs is under test."""


def _without_missing_binds(host_config: dict[str, Any]) -> dict[str, Any]:
    binds = [bind for bind in host_config.get("Binds", []) if Path(bind.split(":", 1)[0]).exists()]
    return {**host_config, "Binds": binds}


def _observer(spec: ContainerSpec, name: str, *, masks: bool) -> ContainerSpec:
    host_config = _without_missing_binds(spec.host_config)
    if not masks:
        host_config["Tmpfs"] = {path: options for path, options in host_config["Tmpfs"].items() if not path.startswith("/rootfs")}
    host_config["NetworkMode"] = "none"
    # cAdvisor's image has no USER (google/cadvisor deploy/Dockerfile), so it runs as root; the stand-in's is nobody
    assert "User" not in spec.config
    config = {**spec.config, "User": "0:0", "Entrypoint": ["sleep"], "Cmd": ["infinity"], "Healthcheck": {"Test": ["NONE"]}}
    return dataclasses.replace(spec, name=name, config=config, host_config=host_config, networks=[], uploads=[])


@pytest.fixture(scope="module")
def cadvisor(docker_client: Any, capture: Capture) -> Iterator[dict[str, Any]]:
    """Two containers from cadvisor's registration: as the program creates it, and the same without the masks."""
    (spec,) = plan_containers(capture, ["cadvisor"])
    image = ensure_standin(docker_client, ROOT, SHELL_IMAGE_SERVICE, print)
    token = secrets.token_hex(4)
    containers = {}
    try:
        for label, masks in (("masked", True), ("unmasked", False)):
            observer = _observer(spec, f"mesh-test-cadvisor-{label}-{token}", masks=masks)
            containers[label] = docker_client.containers.get(create_container(docker_client, observer, image))
        yield containers
    finally:
        for container in containers.values():
            container.remove(force=True)


@pytest.fixture
def host_runtime_socket() -> Iterator[Path]:
    """A listening unix socket in a new directory of the host's /run, where dockerd and containerd keep theirs."""
    directory = Path("/run") / f"mesh-engine-{secrets.token_hex(4)}"
    directory.mkdir(mode=0o700)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind(str(directory / "docker.sock"))
        listener.listen(1)
        yield directory / "docker.sock"
    finally:
        listener.close()
        shutil.rmtree(directory, ignore_errors=True)


def sh(container: Any, script: str) -> tuple[int, str]:
    code, output = container.exec_run(["sh", "-c", script])
    return int(code), output.decode(errors="replace").strip()


def test_the_hosts_runtime_sockets_are_masked_from_cadvisor(cadvisor, host_runtime_socket):
    relative = host_runtime_socket.relative_to("/")
    assert sh(cadvisor["unmasked"], f"test -S /rootfs/{relative}")[0] == 0, "without the masks the socket shows at /rootfs"
    masked = cadvisor["masked"]
    assert sh(masked, f"test -e /rootfs/{relative} || test -e /rootfs/var/{relative}")[0] != 0
    assert sh(masked, "ls -A /rootfs/run /rootfs/var/run") == (0, "/rootfs/run:\n\n/rootfs/var/run:")
    assert sh(masked, "touch /rootfs/run/written")[0] != 0, "the mask is read-only"


def test_the_daemon_reads_the_masks_back_as_the_program_wrote_them(cadvisor, capture):
    """pulumi-docker stores what inspect returns (terraform-provider-docker v4.5.0 resourceDockerContainerRead:
    d.Set("tmpfs", container.HostConfig.Tmpfs)): the same map means no diff on the next up or refresh."""
    (registration,) = [r for r in capture.all(CONTAINER) if r.label("mesh.service") == "cadvisor"]
    masked = cadvisor["masked"]
    masked.reload()
    assert masked.attrs["HostConfig"]["Tmpfs"] == registration.plain["tmpfs"]


def test_what_cadvisor_reads_under_rootfs_is_still_the_hosts(cadvisor):
    masked = cadvisor["masked"]
    processors = sum(line.startswith("processor") for line in Path("/proc/cpuinfo").read_text().splitlines())
    assert sh(masked, "grep -c ^processor /rootfs/proc/cpuinfo") == (0, str(processors))
    assert sh(masked, "ls -A /rootfs/var/lib/docker")[1].split() == sorted(os.listdir("/var/lib/docker"))
    assert sh(masked, "ls -A /rootfs/var/lib")[1].split() == sorted(os.listdir("/var/lib"))
    if Path("/etc/machine-id").exists():
        assert sh(masked, "cat /rootfs/etc/machine-id") == (0, Path("/etc/machine-id").read_text().strip())


def test_the_socket_proxy_is_out_of_cadvisors_reach_through_the_hosts_proc(cadvisor, engine: PrivateDaemon, tmp_path):
    require("haproxy")
    masked = cadvisor["masked"]
    socket_in_root = f"/rootfs/proc/{{pid}}/root{engine.socket}"
    # what the proxy was before: root, every capability dropped, the socket in its mount namespace
    command = ["setpriv", "--bounding-set", "-all", "--inh-caps", "-all", "sleep", "600"]
    root_without_capabilities = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # the proxy as the catalog runs it: HAProxy serves as uid 99 with the socket's group
        with host_proxy(engine.socket, tmp_path) as proxy:
            code, output = sh(masked, f"test -S {socket_in_root.format(pid=root_without_capabilities.pid)}")
            assert code == 0, f"a root process without capabilities is readable through /rootfs/proc: {output}"
            code, output = sh(masked, f"ls {socket_in_root.format(pid=proxy.pid)}")
            assert code != 0 and "Permission denied" in output, output
    finally:
        root_without_capabilities.terminate()
        root_without_capabilities.wait(timeout=10)
