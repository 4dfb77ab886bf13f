"""Stand-in images: the real software of a service, from Debian packages or PyPI, where the real image expects it.

No registry can be reached here, so each image the program names is replaced by one built locally: a Debian
root filesystem (`mmdebstrap --variant=minbase --include=...`, `docker import`) plus a small Dockerfile that
puts binaries, users, entrypoints and config paths where the real image has them. Built images are saved
under `build/engine/images/`, keyed by the Dockerfile, its directory and the rootfs package list, so a
second run only loads them. `docs/engine-standins.md` lists what differs from the real image per service.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from components.catalog.services import CATALOG

if TYPE_CHECKING:
    from components.offline.engine.replay import ContainerSpec
    from components.offline.synth import Capture

STANDINS = Path(__file__).resolve().parent / "standins"
BACKEND = Path(__file__).resolve().parents[3] / "backend"
SUITE = "bookworm"
CONTAINER_TYPE = "docker:index/container:Container"
HOST_CAS = Path("/usr/local/share/ca-certificates")


def host_cas() -> list[Path]:
    return sorted(HOST_CAS.glob("*.crt")) if HOST_CAS.is_dir() else []


@dataclass(frozen=True)
class StandIn:
    """How one service's image is replaced; `rootfs` names a package list, `base` another stand-in to build on."""

    service: str
    directory: Path
    rootfs: str | None = None
    base: str | None = None
    build_args: dict[str, str] = field(default_factory=dict)
    trusts_host_cas: bool = False
    """Gets this machine's extra CA certificates (HOST_CAS) in `host-ca/`: a build step reaches PyPI through the machine's egress."""
    adapt_upload: Callable[[str, str], str] | None = None
    """Rewrites an uploaded file (path, content) the stand-in's older software cannot load: stated in docs/engine-standins.md."""

    def key(self, base_key: str = "") -> str:
        digest = hashlib.sha256(base_key.encode())
        if self.rootfs:
            digest.update(rootfs_packages(self.rootfs).encode())
        for path in sorted(p for p in self.directory.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            digest.update(str(path.relative_to(self.directory)).encode() + b"\0" + path.read_bytes())
        digest.update(repr(sorted(self.build_args.items())).encode())
        for path in host_cas() if self.trusts_host_cas else []:
            digest.update(path.read_bytes())
        return digest.hexdigest()[:16]

    @property
    def tag(self) -> str:
        return f"mesh-standin/{self.service}"


def rootfs_packages(name: str) -> str:
    return (STANDINS / "rootfs" / f"{name}.packages").read_text()


def without_consul_sd(path: str, content: str) -> str:
    """Debian builds Prometheus 2.42 without Consul service discovery: drop the jobs that use it, nothing else."""
    if not path.endswith("prometheus.yml"):
        return content
    config = yaml.safe_load(content)
    config["scrape_configs"] = [job for job in config.get("scrape_configs") or [] if "consul_sd_configs" not in job]
    return str(yaml.safe_dump(config, sort_keys=False))


def catalog_version(service: str) -> str:
    """The version the catalog pins for a service's image (`repo:1.3.0` -> `1.3.0`): a PyPI stand-in installs that one."""
    image = CATALOG[service].image
    return image.rsplit("@", 1)[0].rsplit(":", 1)[1]


def _standins() -> dict[str, StandIn]:
    entries = [
        StandIn("postgres", STANDINS / "postgres", rootfs="postgres"),
        StandIn("redis", STANDINS / "redis", rootfs="redis"),
        StandIn("rabbitmq", STANDINS / "rabbitmq", rootfs="rabbitmq"),
        StandIn("prometheus", STANDINS / "prometheus", rootfs="prometheus", adapt_upload=without_consul_sd),
        StandIn("alertmanager", STANDINS / "alertmanager", rootfs="prometheus"),
        StandIn("blackbox-exporter", STANDINS / "blackbox-exporter", rootfs="prometheus"),
        StandIn("node-exporter", STANDINS / "node-exporter", rootfs="prometheus"),
        StandIn("postgres-exporter", STANDINS / "postgres-exporter", rootfs="prometheus"),
        StandIn("redis-exporter", STANDINS / "redis-exporter", rootfs="prometheus"),
        StandIn("mcp-orchestrator", STANDINS / "mcp-orchestrator", rootfs="dind"),
        # the PyPI wheel of the version the catalog pins for chromadb/chroma
        StandIn(
            "chromadb",
            STANDINS / "chromadb",
            rootfs="chromadb",
            build_args={"CHROMADB_VERSION": catalog_version("chromadb")},
            trusts_host_cas=True,
        ),
        StandIn("python", STANDINS / "python", rootfs="python", trusts_host_cas=True),
        # the project's own Dockerfile, only its base image swapped by the build argument it declares
        StandIn("backend", BACKEND, base="python"),
    ]
    return {entry.service: entry for entry in entries}


STAND_INS = _standins()


def adapted(spec: ContainerSpec) -> ContainerSpec:
    """The spec with the stand-in's stated upload adaptation applied (most stand-ins have none)."""
    adapt = STAND_INS[spec.service].adapt_upload
    if adapt is None:
        return spec
    uploads = [(path, adapt(path, content.decode()).encode(), mode) for path, content, mode in spec.uploads]
    return dataclasses.replace(spec, uploads=uploads)


def fitting_config(defaults: Capture) -> dict[str, Any]:
    """`mesh:mcpOrchestrator.cpus` lowered to this host's CPU count when the default asks for more (Docker refuses it)."""
    host_cpus = os.cpu_count() or 1
    orchestrator = next((r for r in defaults.all(CONTAINER_TYPE) if r.label("mesh.service") == "mcp-orchestrator"), None)
    if orchestrator is None or float(orchestrator.plain.get("cpus", 0)) <= host_cpus:
        return {}
    return {"mcpOrchestrator": {"cpus": host_cpus}}


def standin_services(capture: Capture) -> list[str]:
    deployed = {r.label("mesh.service") for r in capture.all(CONTAINER_TYPE) if not r.provider}
    return sorted(service for service in STAND_INS if service in deployed)


def cache_dir(root: Path) -> Path:
    path = root / "build" / "engine"
    (path / "images").mkdir(parents=True, exist_ok=True)
    (path / "rootfs").mkdir(parents=True, exist_ok=True)
    return path


def build_rootfs(name: str, cache: Path, log: Callable[[str], None]) -> Path:
    """A Debian root filesystem with the listed packages installed, as a tar (cached by its package list)."""
    packages = [line.strip() for line in rootfs_packages(name).splitlines() if line.strip() and not line.startswith("#")]
    key = hashlib.sha256(f"{SUITE}\n{' '.join(packages)}".encode()).hexdigest()[:16]
    target = cache / "rootfs" / f"{name}-{key}.tar"
    if target.exists():
        return target
    log(f"engine: mmdebstrap {name} rootfs ({', '.join(packages)})")
    partial = target.with_name(target.stem + ".partial.tar")  # mmdebstrap reads the format from the extension
    subprocess.run(
        [
            "mmdebstrap",
            "--quiet",
            "--variant=minbase",
            '--aptopt=APT::Install-Recommends "false"',
            f"--include={','.join(packages)}",
            # each container gets its own machine id, as in the official images
            '--customize-hook=rm -f "$1"/etc/machine-id',
            SUITE,
            str(partial),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    partial.rename(target)
    return target


def _image_archive(cache: Path, standin: StandIn, key: str) -> Path:
    return cache / "images" / f"{standin.service}-{key}.tar"


def _save(client: Any, ref: str, target: Path) -> None:
    partial = target.with_suffix(".partial")
    with partial.open("wb") as out:
        for chunk in client.images.get(ref).save(named=True):
            out.write(chunk)
    partial.rename(target)


def ensure_standin(client: Any, root: Path, service: str, log: Callable[[str], None], _keys: dict[str, str] | None = None) -> str:
    """Build or load the stand-in for `service`; returns its local tag `mesh-standin/<service>:<key>`."""
    keys = {} if _keys is None else _keys
    standin = STAND_INS[service]
    base_ref = ensure_standin(client, root, standin.base, log, keys) if standin.base else ""
    key = standin.key(base_ref)
    ref = f"{standin.tag}:{key}"
    if _has_image(client, ref):
        return ref
    cache = cache_dir(root)
    archive = _image_archive(cache, standin, key)
    if archive.exists():
        with archive.open("rb") as data:
            client.images.load(data)
        if _has_image(client, ref):
            return ref
    log(f"engine: building stand-in {service} ({ref})")
    build_args = dict(standin.build_args)
    if standin.rootfs:
        tarball = build_rootfs(standin.rootfs, cache, log)
        rootfs_ref = f"mesh-standin-rootfs/{standin.rootfs}:{tarball.stem.rsplit('-', 1)[1]}"
        if not _has_image(client, rootfs_ref):
            repository, tag = rootfs_ref.split(":")
            client.api.import_image_from_file(str(tarball), repository=repository, tag=tag)
        build_args["ROOTFS"] = rootfs_ref
    if base_ref:
        build_args["BASE_IMAGE"] = base_ref
    context = standin.directory
    if standin.trusts_host_cas:
        context = Path(tempfile.mkdtemp(prefix="mesh-standin-"))
        shutil.copytree(standin.directory, context, dirs_exist_ok=True)
        (context / "host-ca").mkdir()
        for path in host_cas():
            shutil.copy(path, context / "host-ca" / path.name)
    try:
        client.images.build(path=str(context), tag=ref, buildargs=build_args, rm=True, forcerm=True)
    except Exception as error:  # the build log is the useful part of a failed build
        log_lines = "".join(str(part.get("stream", "")) for part in getattr(error, "build_log", []) or [])
        raise RuntimeError(f"stand-in {service} failed to build: {error}\n{log_lines[-4000:]}") from error
    finally:
        if context != standin.directory:
            shutil.rmtree(context)
    _save(client, ref, archive)
    _prune_archives(cache, standin, key)
    return ref


def _prune_archives(cache: Path, standin: StandIn, key: str) -> None:
    for stale in (cache / "images").glob(f"{standin.service}-*.tar"):
        if stale.name != f"{standin.service}-{key}.tar":
            stale.unlink()


def _has_image(client: Any, ref: str) -> bool:
    try:
        client.images.get(ref)
    except Exception:
        return False
    return True
