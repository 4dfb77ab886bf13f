"""Every container drops its capabilities, runs on a read-only root and as a non-root user, or carries the
catalog's reason for each exception; the inputs are in pulumi-docker's (and the daemon's read-back) form."""

from __future__ import annotations

import pytest

from components.catalog.mcp_servers import MCP_HARDENING
from components.catalog.services import CATALOG
from components.offline.synth import Capture
from components.offline.types import CONTAINER
from components.resources.container import EXCEPTION_LABEL, MASK_OPTIONS, TMPFS_OPTIONS


def exceptions(container) -> dict[str, str]:
    return {
        item["label"].removeprefix(EXCEPTION_LABEL): item["value"]
        for item in container.plain["labels"]
        if item["label"].startswith(EXCEPTION_LABEL)
    }


def unprivileged(plan: Capture):
    return [c for c in plan.all(CONTAINER) if not c.plain.get("privileged")]


def is_root(user: str | None) -> bool:
    return user is None or user.split(":", 1)[0] in ("root", "0")


def test_every_unprivileged_container_drops_all_capabilities_or_says_why(plan):
    for container in unprivileged(plan):
        capabilities = container.plain.get("capabilities")
        if capabilities is None:
            assert exceptions(container).get("capabilities"), container.name
            continue
        assert capabilities["drops"] == ["ALL"], container.name
        adds = capabilities.get("adds") or []
        # canonical CAP_ names, sorted: what the daemon reads back (moby client/container_create.go normalizeCap)
        assert adds == sorted(adds) and all(cap.startswith("CAP_") for cap in adds), container.name
        if adds:
            assert exceptions(container)["capabilities"].startswith(", ".join(adds)), container.name


def test_every_unprivileged_container_has_a_read_only_root_or_says_why(plan):
    for container in unprivileged(plan):
        if container.plain.get("readOnly") is True:
            spec = CATALOG.get(container.label("mesh.service") or "")
            masked = set(spec.hardening.masked_paths) if spec else set()
            writable = {path: options for path, options in container.plain["tmpfs"].items() if path not in masked}
            assert all(options == TMPFS_OPTIONS for options in writable.values()), container.name
            assert "writable-root" not in exceptions(container)
        else:
            assert exceptions(container).get("writable-root"), container.name


def test_every_unprivileged_container_runs_as_a_non_root_user_or_says_why(plan):
    for container in unprivileged(plan):
        if is_root(container.plain.get("user")):
            reason = exceptions(container).get("root")
            assert reason and reason != "no reason recorded", container.name
        else:
            assert "root" not in exceptions(container), container.name


def test_a_container_whose_config_is_uploaded_keeps_a_writable_root(plan):
    # Docker refuses uploads into a read-only root (moby daemon/archive_unix.go checkWritablePath)
    for container in unprivileged(plan):
        if container.plain.get("uploads"):
            assert container.plain.get("readOnly") is not True, container.name


@pytest.mark.parametrize(
    ("service", "user"),
    [
        ("prometheus", "65534:65534"),
        ("node-exporter", "65534:65534"),
        ("grafana", "472:0"),
        ("loki", "10001"),
        ("jaeger", "10001"),
        ("kong", "kong"),
        ("redis-exporter", "59000:59000"),
        ("consul-esm", "100:1000"),
        ("backend", "10001"),
    ],
)
def test_images_with_a_non_root_user_run_as_it(synth, service, user):
    capture = synth({"services": {"backend": {"enabled": True}}})
    assert capture.one(CONTAINER, service).plain["user"] == user


def test_read_only_roots_where_nothing_is_uploaded(plan):
    read_only = {c.name for c in plan.all(CONTAINER) if c.plain.get("readOnly") is True}
    assert {"postgres", "grafana", "node-exporter", "cadvisor", "postgres-exporter", "redis-exporter", "consul-exporter"} <= read_only
    postgres = plan.one(CONTAINER, "postgres").plain
    assert set(postgres["tmpfs"]) == {"/tmp", "/var/run/postgresql"}  # its socket and lock directory


def test_entrypoints_that_drop_root_keep_only_the_capabilities_to_do_so(plan):
    for service in ("postgres", "redis", "rabbitmq", "neo4j", "consul"):
        adds = plan.one(CONTAINER, service).plain["capabilities"]["adds"]
        assert adds == ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_SETGID", "CAP_SETUID"], service


def test_every_catalog_exception_carries_a_reason():
    for spec in [*CATALOG.values()]:
        hardening = spec.hardening
        if is_root(spec.user):
            assert hardening.root_reason, spec.name
        assert not hardening.capabilities or hardening.capabilities_reason, spec.name
    assert MCP_HARDENING.root_reason is None and MCP_HARDENING.writable_root_reason  # they run as the image's node user


def test_cadvisor_sees_the_hosts_root_but_not_its_runtime_sockets(plan):
    """Its `/` -> `/rootfs` mount would hold the Docker socket at /rootfs/run/docker.sock (/var/run links to /run);
    an empty read-only tmpfs masks both paths (what the engine sees: tests/engine/test_cadvisor_mounts.py)."""
    cadvisor = plan.one(CONTAINER, "cadvisor")
    mounts = {volume["containerPath"]: volume["hostPath"] for volume in cadvisor.plain["volumes"] if "hostPath" in volume}
    assert mounts["/rootfs"] == "/"
    assert cadvisor.plain["tmpfs"]["/rootfs/run"] == cadvisor.plain["tmpfs"]["/rootfs/var/run"] == MASK_OPTIONS
    assert MASK_OPTIONS.split(",")[0] == "ro"
    masked = {path for c in plan.all(CONTAINER) for path, options in (c.plain.get("tmpfs") or {}).items() if options == MASK_OPTIONS}
    assert masked == {"/rootfs/run", "/rootfs/var/run"}
