"""A private Docker Engine for the engine tests and the bench: own socket, data root, exec root and pid file.

Only this daemon is ever started or stopped here (by its own pid); no other daemon or socket is touched.
Its address pools are set apart from Docker's defaults so that it cannot take a host network's range.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

START_TIMEOUT_S = 60
# Linux capability numbers -> the names an OCI config uses (capability.h)
CAPABILITIES = [
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
]

# A runc in front of runc: removes from a container's (or exec's) capability sets those this host's bounding set
# lacks. Docker 20.10 grants a privileged container every capability it knows, and runc cannot grant one the
# host itself does not have (here: a sandboxed host without CAP_SYS_RESOURCE), so nothing privileged would start.
_RUNC_WRAPPER = """#!/usr/bin/python3
import json, os, sys
MISSING = set({missing!r})
args = sys.argv[1:]
def flag(names):
    for index, arg in enumerate(args):
        if arg in names and index + 1 < len(args):
            return args[index + 1]
        for name in names:
            if arg.startswith(name + "="):
                return arg.split("=", 1)[1]
    return None
def strip(path, key):
    with open(path) as handle:
        document = json.load(handle)
    process = document.get(key, document) if key else document
    for name, values in (process.get("capabilities") or {{}}).items():
        process["capabilities"][name] = [value for value in values if value[4:] not in MISSING]
    with open(path, "w") as handle:
        json.dump(document, handle)
if "create" in args or "run" in args:
    strip(os.path.join(flag(("--bundle", "-b")) or os.getcwd(), "config.json"), "process")
elif "exec" in args and flag(("--process", "-p")):
    strip(flag(("--process", "-p")), None)
os.execv({runc!r}, [{runc!r}, *args])
"""


def missing_capabilities() -> list[str]:
    """Capabilities Docker would grant a privileged container that this host's bounding set does not allow."""
    status = Path("/proc/self/status").read_text()
    bounding = int(next(line.split()[1] for line in status.splitlines() if line.startswith("CapBnd:")), 16)
    return [name for bit, name in enumerate(CAPABILITIES) if not bounding & (1 << bit)]


class EngineUnavailableError(RuntimeError):
    """The private daemon cannot run on this machine; the message says why in one line."""


@dataclass
class PrivateDaemon:
    directory: Path
    process: subprocess.Popen[bytes]

    @property
    def socket(self) -> Path:
        return self.directory / "docker.sock"

    @property
    def base_url(self) -> str:
        return f"unix://{self.socket}"

    def client(self, timeout: int = 300) -> Any:
        import docker

        return docker.DockerClient(base_url=self.base_url, timeout=timeout)

    def log_tail(self, lines: int = 30) -> str:
        path = self.directory / "dockerd.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""


def why_unavailable() -> str | None:
    """One line saying why a private daemon cannot start here, or None."""
    if os.geteuid() != 0:
        return "the private dockerd needs root"
    for tool in ("dockerd", "containerd", "runc", "mmdebstrap"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt-get install docker.io mmdebstrap; .ci/run does)"
    try:
        import docker  # noqa: F401
    except ImportError:
        return "the Docker SDK for Python is not installed (pip install -r requirements-dev.txt)"
    return None


@contextlib.contextmanager
def private_daemon(keep_dir: bool = False) -> Iterator[PrivateDaemon]:
    """Start dockerd under a temp dir, yield it, and always stop it (SIGTERM to its pid, then SIGKILL) and remove the dir."""
    reason = why_unavailable()
    if reason:
        raise EngineUnavailableError(reason)
    directory = Path(tempfile.mkdtemp(prefix="mesh-dockerd-"))
    log = (directory / "dockerd.log").open("wb")
    runtime: list[str] = []
    missing = missing_capabilities()
    if missing:
        wrapper = directory / "runc-capability-filter"
        wrapper.write_text(_RUNC_WRAPPER.format(missing=sorted(missing), runc=shutil.which("runc")))
        wrapper.chmod(0o755)
        runtime = [f"--add-runtime=mesh-runc={wrapper}", "--default-runtime=mesh-runc"]
    process = subprocess.Popen(
        [
            "dockerd",
            *runtime,
            f"--data-root={directory / 'root'}",
            f"--exec-root={directory / 'exec'}",
            f"--host=unix://{directory / 'docker.sock'}",
            f"--pidfile={directory / 'dockerd.pid'}",
            # its own containerd, so nothing of a host daemon's is shared
            f"--containerd-namespace=mesh-engine-{os.getpid()}",
            f"--containerd-plugins-namespace=mesh-engine-plugins-{os.getpid()}",
            "--bip=10.213.0.1/24",
            "--default-address-pool=base=10.214.0.0/16,size=24",
            "--userland-proxy=false",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    daemon = PrivateDaemon(directory, process)
    try:
        _wait_ready(daemon)
        yield daemon
    finally:
        _stop(daemon)
        log.close()
        if not keep_dir:
            _remove(directory)


def _wait_ready(daemon: PrivateDaemon) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if daemon.process.poll() is not None:
            raise EngineUnavailableError(f"dockerd exited with {daemon.process.returncode}: {daemon.log_tail(3)}")
        if daemon.socket.exists():
            with contextlib.suppress(Exception):
                daemon.client(timeout=5).ping()
                return
        time.sleep(0.3)
    raise EngineUnavailableError(f"dockerd did not answer within {START_TIMEOUT_S}s: {daemon.log_tail(3)}")


def _stop(daemon: PrivateDaemon) -> None:
    if daemon.process.poll() is None:
        with contextlib.suppress(Exception):
            client = daemon.client(timeout=30)
            for container in client.containers.list(all=True):
                container.remove(force=True, v=False)
        daemon.process.send_signal(signal.SIGTERM)
        try:
            daemon.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            daemon.process.kill()
            daemon.process.wait(timeout=10)


def _remove(directory: Path) -> None:
    # the data root may hold mounts that dockerd left behind if it was killed; never follow them
    subprocess.run(["umount", "-R", "-l", str(directory / "exec")], capture_output=True, check=False)
    subprocess.run(["umount", "-R", "-l", str(directory / "root")], capture_output=True, check=False)
    # deleting gigabytes of unpacked layers takes minutes on this disk: a detached `rm` does it after we return
    subprocess.Popen(
        ["rm", "-rf", "--one-file-system", str(directory)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
