"""The MCP orchestrator: Docker-in-Docker over TLS only, six real MCP servers inside, handed to the mesh."""

from __future__ import annotations

import json
import platform
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from components.catalog.endpoint import Endpoint
from components.catalog.mcp_servers import (
    DOCKER_TLS_PORT,
    MCP_CATALOG,
    MCP_NETWORK,
    NODE_IMAGE,
    ORCHESTRATOR,
    PROBE_PATH,
    McpServerSpec,
    package_manifest,
)
from components.model.base import ConfigError
from components.offline.provider_state import written_back
from components.offline.synth import Capture, Registration, reveal, synthesize
from components.offline.types import (
    CONTAINER,
    DOCKER_PROVIDER,
    IMAGE,
    MCP_SERVER,
    NETWORK,
    REMOTE_IMAGE,
    TLS_CERT_REQUEST,
    TLS_LOCALLY_SIGNED_CERT,
    TLS_PRIVATE_KEY,
    TLS_SELF_SIGNED_CERT,
    VOLUME,
)
from components.plan import mcp_images
from components.plan.mcp_images import PROJECT_ROOT, plan_image_builds
from components.render.mcp_probe import PROBE_SCRIPT
from components.resources.mcp_server import docker_platform
from components.resources.orchestrator import CERT_DIR
from components.stack.mesh import ServiceMesh

SIX = ["mcp-claude-flow", "mcp-files", "mcp-context", "mcp-search", "mcp-memory", "mcp-docs"]


def _orchestrator(plan: Capture) -> Registration:
    return plan.one(CONTAINER, ORCHESTRATOR)


def _nested_provider(plan: Capture) -> Registration:
    (provider,) = plan.all(DOCKER_PROVIDER)
    return provider


def _provider_ref(provider: Registration) -> str:
    return f"{provider.urn}::{provider.name}-id"


def _computed(type_: str, name: str, output: str) -> str:
    """What the (mocked) provider returns for a resource's output, e.g. a certificate's PEM."""
    return str(written_back(type_, name, {})[output])


def _uploads(container: Registration) -> dict[str, Any]:
    return {upload["file"]: upload for upload in container.plain.get("uploads") or []}


def _ports(container: Registration) -> list[dict[str, Any]]:
    return list(container.plain.get("ports") or [])


def _covered_by_secret(path: str, secrets: set[str]) -> bool:
    return any(path == secret or path.startswith(secret + ".") or path.startswith(secret + "[") for secret in secrets)


def _string_paths(value: Any, path: str = "") -> list[tuple[str, str]]:
    if isinstance(value, dict):
        return [found for key, item in value.items() for found in _string_paths(item, f"{path}.{key}" if path else key)]
    if isinstance(value, list):
        return [found for index, item in enumerate(value) for found in _string_paths(item, f"{path}[{index}]")]
    return [(path, value)] if isinstance(value, str) else []


# --- the orchestrator ---


def test_the_orchestrator_is_the_only_privileged_container(plan: Capture) -> None:
    privileged = [r.name for r in plan.all(CONTAINER) if r.plain.get("privileged")]
    assert privileged == [ORCHESTRATOR]
    assert _orchestrator(plan).plain["image"].startswith("sha256:")
    plan.has_resource_properties(
        REMOTE_IMAGE, {"name": lambda image: image.startswith("docker:29") and "dind" in image}, name=f"{ORCHESTRATOR}-image"
    )


def test_nothing_listens_on_or_points_at_a_plaintext_docker_port(plan: Capture) -> None:
    for container in plan.all(CONTAINER):
        for port in _ports(container):
            assert 2375 not in (port["internal"], port.get("external")), container.name
        for env in container.plain.get("envs") or []:
            assert ":2375" not in env, container.name
    assert ":2375" not in _nested_provider(plan).plain["host"]
    # the dind entrypoint serves 2375 without TLS only when DOCKER_TLS_CERTDIR is empty or server certs are missing
    orchestrator = _orchestrator(plan)
    assert f"DOCKER_TLS_CERTDIR={CERT_DIR}" in orchestrator.plain["envs"]
    uploads = _uploads(orchestrator)
    for name in ("server/ca.pem", "server/cert.pem", "server/key.pem"):
        assert uploads[f"{CERT_DIR}/{name}"]["content"].strip(), name
    assert not orchestrator.plain.get("command"), "extra dockerd arguments would bypass the entrypoint's TLS defaults"


def test_the_entrypoint_uses_our_certificates_and_never_holds_the_ca_key(plan: Capture) -> None:
    uploads = _uploads(_orchestrator(plan))
    # ca/cert.pem present and ca/key.pem absent: the entrypoint generates no CA and no server certificate of its own
    assert f"{CERT_DIR}/ca/cert.pem" in uploads
    assert f"{CERT_DIR}/ca/key.pem" not in uploads
    ca_cert = _computed(TLS_SELF_SIGNED_CERT, f"{ORCHESTRATOR}-ca", "certPem")
    assert uploads[f"{CERT_DIR}/server/ca.pem"]["content"] == ca_cert
    server_cert = _computed(TLS_LOCALLY_SIGNED_CERT, f"{ORCHESTRATOR}-server", "certPem")
    assert uploads[f"{CERT_DIR}/server/cert.pem"]["content"] == server_cert


def test_tls_is_published_at_12376_on_loopback_only_whatever_the_bind_address(synth: Callable[..., Capture]) -> None:
    for bind_address in ("127.0.0.1", "0.0.0.0"):
        plan = synth({"bindAddress": bind_address})
        tls_ports = [port for port in _ports(_orchestrator(plan)) if port["internal"] == DOCKER_TLS_PORT]
        assert tls_ports == [{"internal": DOCKER_TLS_PORT, "external": 12376, "ip": "127.0.0.1", "protocol": "tcp"}]


def test_the_server_certificate_covers_the_mesh_alias_and_loopback(plan: Capture) -> None:
    request = plan.one(TLS_CERT_REQUEST, f"{ORCHESTRATOR}-server").plain
    assert ORCHESTRATOR in request["dnsNames"]
    assert "127.0.0.1" in request["ipAddresses"]
    signed = plan.one(TLS_LOCALLY_SIGNED_CERT, f"{ORCHESTRATOR}-server").plain
    assert "server_auth" in signed["allowedUses"]
    client = plan.one(TLS_LOCALLY_SIGNED_CERT, f"{ORCHESTRATOR}-client").plain
    assert "client_auth" in client["allowedUses"]
    assert plan.one(TLS_SELF_SIGNED_CERT, f"{ORCHESTRATOR}-ca").plain["isCaCertificate"] is True


def test_the_provider_reaches_the_api_on_loopback_whatever_the_bind_address(synth: Callable[..., Capture]) -> None:
    plan = synth({"bindAddress": "10.1.2.3"})
    assert "127.0.0.1" in plan.one(TLS_CERT_REQUEST, f"{ORCHESTRATOR}-server").plain["ipAddresses"]
    assert _nested_provider(plan).plain["host"] == "tcp://127.0.0.1:12376"


def test_the_orchestrator_is_health_gated_on_docker_info_over_tls_with_limits_and_retained_state(plan: Capture) -> None:
    orchestrator = _orchestrator(plan).plain
    test = orchestrator["healthcheck"]["tests"]
    assert test[:2] == ["CMD", "docker"] and test[-1] == "info"
    assert f"--host=tcp://127.0.0.1:{DOCKER_TLS_PORT}" in test and "--tlsverify" in test
    assert orchestrator["wait"] is True
    # no CPU limit of its own by default (each MCP server has one): a fixed default could exceed a small host
    assert orchestrator["memory"] == 4096 and "cpus" not in orchestrator
    volume = plan.one(VOLUME, f"{ORCHESTRATOR}-docker")
    assert volume.retain_on_delete
    assert {"volumeName": volume.plain["name"], "containerPath": "/var/lib/docker"} in [
        {key: mount.get(key) for key in ("volumeName", "containerPath")} for mount in orchestrator["volumes"]
    ]
    assert {"name": "sutazai-network", "aliases": [ORCHESTRATOR]} in orchestrator["networksAdvanced"]


# --- the nested provider and what it manages ---


def test_the_nested_provider_is_configured_from_known_values_and_waits_for_the_orchestrator(plan: Capture) -> None:
    provider = _nested_provider(plan)
    assert provider.plain["host"] == "tcp://127.0.0.1:12376"
    assert provider.plain["caMaterial"] == _computed(TLS_SELF_SIGNED_CERT, f"{ORCHESTRATOR}-ca", "certPem")
    client_cert = _computed(TLS_LOCALLY_SIGNED_CERT, f"{ORCHESTRATOR}-client", "certPem")
    assert provider.plain["certMaterial"] == client_cert
    client_key = _computed(TLS_PRIVATE_KEY, f"{ORCHESTRATOR}-client", "privateKeyPem")
    assert provider.plain["keyMaterial"] == client_key
    assert _orchestrator(plan).urn in provider.dependencies


def test_the_docker_host_comes_from_config_and_the_server_certificate_covers_it(synth: Callable[..., Capture]) -> None:
    plan = synth({"mcpOrchestrator": {"dockerHost": "tcp://dind.example.internal:12376"}})
    assert _nested_provider(plan).plain["host"] == "tcp://dind.example.internal:12376"
    request = plan.one(TLS_CERT_REQUEST, f"{ORCHESTRATOR}-server").plain
    assert "dind.example.internal" in request["dnsNames"]
    plan = synth({"mcpOrchestrator": {"dockerHost": "tcp://192.168.7.9:12376"}})
    assert "192.168.7.9" in plan.one(TLS_CERT_REQUEST, f"{ORCHESTRATOR}-server").plain["ipAddresses"]


def test_six_inner_containers_and_their_network_are_registered_through_the_nested_provider(plan: Capture) -> None:
    nested = _provider_ref(_nested_provider(plan))
    network = plan.one(NETWORK, f"{ORCHESTRATOR}-mcp-network")
    assert network.provider == nested and network.plain["name"] == MCP_NETWORK
    servers = plan.all(MCP_SERVER)
    assert sorted(server.name for server in servers) == sorted(SIX)
    for server in servers:
        inner = [r for r in plan.descendants_of(server.urn) if r.custom]
        assert {r.type for r in inner} >= {CONTAINER, IMAGE}
        assert all(r.provider == nested for r in inner), server.name
        container = plan.one(CONTAINER, server.name).plain
        assert container["networksAdvanced"] == [{"name": MCP_NETWORK, "aliases": [server.name]}]
    host_level = [r for r in plan.all(CONTAINER) if r.name not in SIX]
    assert all(r.provider != nested for r in host_level)


def test_each_mcp_server_runs_its_pinned_package_from_an_image_built_from_its_lockfile(plan: Capture) -> None:
    builds = plan_image_builds(MCP_CATALOG.values())
    for spec in MCP_CATALOG.values():
        container = plan.one(CONTAINER, spec.service)
        assert container.label("mesh.mcp.package") == spec.package
        image = plan.one(IMAGE, f"{spec.service}-image")
        assert image.parent == plan.one(MCP_SERVER, spec.service).urn
        assert image.plain == {
            "imageName": builds[spec.name].image_name,
            "build": {
                "context": f"mcp/servers/{spec.name}",
                "dockerfile": "mcp/Dockerfile",
                "args": {"DATA_PATH": spec.data_path or "", "NODE_IMAGE": NODE_IMAGE},
                "platform": docker_platform(platform.machine()),
                "builderVersion": "BuilderBuildKit",
            },
            "skipPush": True,
            # the SDK's default, which the provider's Check writes back: nothing is built by a preview
            "buildOnPreview": False,
        }
        # the container runs exactly that build (its image ID, as the provider reads it back), never a pulled tag
        assert container.plain["image"] == written_back(IMAGE, image.name, image.plain)["repoDigest"]
        assert container.property_dependencies["image"] == (image.urn,)
    assert not [r for r in plan.all(REMOTE_IMAGE) if r.provider == _provider_ref(_nested_provider(plan))]


def test_six_distinct_mcp_ports_in_3000_3099_published_on_both_daemons(plan: Capture) -> None:
    outer = {port["internal"]: port for port in _ports(_orchestrator(plan)) if port["internal"] != DOCKER_TLS_PORT}
    seen_host_ports = set()
    for name in SIX:
        spec = MCP_CATALOG[name.removeprefix("mcp-")]
        inner_ports = {port["internal"]: port for port in _ports(plan.one(CONTAINER, name))}
        # the inner daemon publishes the server's port on the orchestrator...
        assert inner_ports[spec.port]["external"] == spec.port
        # ...and the orchestrator publishes it on the host, bound to the bind address
        assert outer[spec.port]["external"] == spec.published_port
        assert outer[spec.port]["ip"] == "127.0.0.1"
        assert 3000 <= spec.published_port <= 3099
        seen_host_ports.add(spec.published_port)
    assert len(seen_host_ports) == 6
    assert all(port["ip"] == "127.0.0.1" for port in _ports(_orchestrator(plan)))


def test_tls_private_keys_are_secret_in_every_input_that_carries_them(plan: Capture) -> None:
    carriers = []
    for registration in plan.resources:
        secrets = registration.secret_paths()
        for path, text in _string_paths(reveal(registration.props)):
            if "PRIVATE KEY" in text:
                carriers.append(f"{registration.name}.{path}")
                assert _covered_by_secret(path, secrets), f"{registration.type} {registration.name}: {path} is not secret"
    # the CA key signs two certificates; the server and client keys reach the orchestrator, the client key the provider
    assert len(carriers) >= 7, carriers


def test_stateful_servers_keep_state_on_retained_inner_volumes(plan: Capture) -> None:
    nested = _provider_ref(_nested_provider(plan))
    for name, path in (("mcp-memory", "/data"), ("mcp-files", "/data")):
        volume = plan.one(VOLUME, f"{name}-data")
        assert volume.retain_on_delete and volume.provider == nested
        mounts = plan.one(CONTAINER, name).plain["volumes"]
        assert [(m["volumeName"], m["containerPath"]) for m in mounts] == [(volume.plain["name"], path)]
    assert "MEMORY_FILE_PATH=/data/memory.jsonl" in plan.one(CONTAINER, "mcp-memory").plain["envs"]


def test_each_server_is_health_gated_on_the_mcp_probe_baked_into_its_image(plan: Capture) -> None:
    for name in SIX:
        container = plan.one(CONTAINER, name).plain
        assert container["healthcheck"]["tests"][:4] == ["CMD", "node", PROBE_PATH, "check"]
        assert container["wait"] is True
        # no upload: the build context carries this exact probe and mcp/Dockerfile copies it to PROBE_PATH
        assert PROBE_PATH not in _uploads(plan.one(CONTAINER, name))
        context = PROJECT_ROOT / MCP_CATALOG[name.removeprefix("mcp-")].context
        assert (context / "mcp-probe.mjs").read_text(encoding="utf-8") == PROBE_SCRIPT
    assert f"COPY mcp-probe.mjs {PROBE_PATH}" in (PROJECT_ROOT / "mcp" / "Dockerfile").read_text(encoding="utf-8")


def test_stack_outputs_list_each_mcp_url(plan: Capture) -> None:
    assert plan.outputs["mcpServers"]["mcp-files"] == "http://127.0.0.1:3003/mcp"
    assert sorted(plan.outputs["mcpServers"]) == sorted(SIX)
    assert plan.outputs["mcpDockerHost"] == "tcp://127.0.0.1:12376"


# --- hand-off to discovery, the gateway and Prometheus ---


def _mesh_endpoints(monkeypatch: pytest.MonkeyPatch, raw_config: dict[str, Any] | None = None) -> dict[str, Endpoint]:
    built: list[ServiceMesh] = []
    original = ServiceMesh.__init__

    def keep(self: ServiceMesh, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        built.append(self)

    monkeypatch.setattr(ServiceMesh, "__init__", keep)
    synthesize(raw_config or {})
    return {endpoint.service: endpoint for endpoint in built[0].endpoints}


@pytest.mark.synthesis
def test_each_mcp_server_is_an_endpoint_through_the_orchestrator_alias(monkeypatch: pytest.MonkeyPatch) -> None:
    endpoints = _mesh_endpoints(monkeypatch)
    for name in SIX:
        spec = MCP_CATALOG[name.removeprefix("mcp-")]
        endpoint = endpoints[name]
        assert (endpoint.address, endpoint.port, endpoint.kind, endpoint.category) == (ORCHESTRATOR, spec.port, "mcp", "mcp")
        assert endpoint.route_path == f"/mcp/{spec.name}" and endpoint.service_path == "/mcp"
        assert endpoint.blackbox and endpoint.metrics is None
        # Consul cannot POST an MCP request: its HTTP check hits the probe's face, which answers 200 only after one
        assert endpoint.check is not None
        assert (endpoint.check.kind, endpoint.check.port, endpoint.check.path) == ("http", spec.health_port, "/health")
        assert f"serve {spec.health_port} " in plan_command(spec.service)
    orchestrator = endpoints[ORCHESTRATOR]
    assert orchestrator.check is not None and (orchestrator.check.kind, orchestrator.check.port) == ("tcp", DOCKER_TLS_PORT)


def plan_command(service: str) -> str:
    from components.catalog.mcp_servers import launch_script

    return launch_script(MCP_CATALOG[service.removeprefix("mcp-")])


def test_the_probe_face_is_published_on_the_orchestrator_for_consul(plan: Capture) -> None:
    for name in SIX:
        spec = MCP_CATALOG[name.removeprefix("mcp-")]
        ports = {port["internal"]: port["external"] for port in _ports(plan.one(CONTAINER, name))}
        assert ports[spec.health_port] == spec.health_port


# --- a seventh server is config, not code ---

SEVENTH = {
    "mcpServers": {
        "time": {
            "port": 3020,
            "package": "@example/mcp-time@1.4.2",
            "bin": "mcp-time",
            "args": ["--utc"],
            "dataPath": "/state",
        }
    }
}


def committed_context(root: Path, spec: McpServerSpec) -> Path:
    """A project copy under `root` whose context for `spec` is what `make mcp-lock` writes (the lockfile reduced to its root)."""
    if not (root / "mcp" / "Dockerfile").exists():
        shutil.copytree(PROJECT_ROOT / "mcp", root / "mcp")
    context = root / spec.context
    context.mkdir(parents=True, exist_ok=True)
    manifest = package_manifest(spec)
    (context / "package.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    lock = {"lockfileVersion": 3, "packages": {"": {"name": manifest["name"], "dependencies": manifest["dependencies"]}}}
    (context / "package-lock.json").write_text(json.dumps(lock, indent=2) + "\n", encoding="utf-8")
    (context / "mcp-probe.mjs").write_text(PROBE_SCRIPT, encoding="utf-8")
    return context


def test_a_seventh_server_from_config_yields_a_container_route_and_check(
    synth: Callable[..., Capture], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError) as missing:
        synth(SEVENTH)
    assert missing.value.key == "mesh:mcpServers.time.package" and "make mcp-lock" in str(missing.value)
    time = McpServerSpec(name="time", port=3020, package="@example/mcp-time@1.4.2", bin="mcp-time")
    committed_context(tmp_path, time)
    monkeypatch.setattr(mcp_images, "PROJECT_ROOT", tmp_path)
    plan = synth(SEVENTH)
    image = plan.one(IMAGE, "mcp-time-image").plain
    assert image["build"]["context"] == "mcp/servers/time" and image["build"]["args"]["DATA_PATH"] == "/state"
    assert image["imageName"].startswith("service-mesh/mcp-time:")
    assert len(plan.all(MCP_SERVER)) == 7
    container = plan.one(CONTAINER, "mcp-time")
    assert container.provider == _provider_ref(_nested_provider(plan))
    assert container.label("mesh.mcp.package") == "@example/mcp-time@1.4.2"
    assert "--stdio 'mcp-time --utc'" in container.plain["command"][-1]
    assert plan.one(VOLUME, "mcp-time-data").retain_on_delete
    assert {"internal": 3020, "external": 3020, "ip": "127.0.0.1", "protocol": "tcp"} in _ports(_orchestrator(plan))
    assert plan.outputs["mcpServers"]["mcp-time"] == "http://127.0.0.1:3020/mcp"
    endpoint = _mesh_endpoints(monkeypatch, SEVENTH)["mcp-time"]
    assert endpoint.route_path == "/mcp/time" and endpoint.check is not None and endpoint.check.port == 3120


def test_a_catalog_server_can_be_disabled_or_moved(synth: Callable[..., Capture]) -> None:
    plan = synth({"mcpServers": {"search": {"enabled": False}, "docs": {"hostPort": 3050}}})
    assert not plan.all(CONTAINER, "mcp-search")
    outer = {port["internal"]: port["external"] for port in _ports(_orchestrator(plan))}
    assert 3006 not in outer and outer[3017] == 3050


@pytest.mark.parametrize(
    ("raw_config", "key", "fragment"),
    [
        ({"mcpServers": {"time": {"port": 3020, "bin": "mcp-time"}}}, "mesh:mcpServers.time.package", "required for a new MCP server"),
        ({"mcpServers": {"time": {"port": 3020, "package": "mcp-time", "bin": "t"}}}, "mesh:mcpServers.time.package", "not pinned"),
        ({"mcpServers": {"time": {"port": 3020, "package": "mcp-time@latest", "bin": "t"}}}, "mesh:mcpServers.time.package", "not pinned"),
        ({"mcpServers": {"docs": {"hostPort": 3150}}}, "mesh:mcpServers.docs.hostPort", "outside the mcp range 3000-3099"),
        ({"mcpServers": {"docs": {"hostPort": 3001}}}, "mesh:mcpServers.docs.hostPort", "used by both mcp-docs and mcp-claude-flow"),
        (
            {"mcpServers": {"time": {"port": 3003, "hostPort": 3040, "package": "t@1.0.0", "bin": "t"}}},
            "mesh:mcpServers.time.port",
            "collides",
        ),
        (
            {"mcpServers": {"time": {"port": 3103, "hostPort": 3040, "package": "t@1.0.0", "bin": "t"}}},
            "mesh:mcpServers.time.port",
            "collides",
        ),
        ({"mcpServers": {"Bad_Name": {"enabled": False}}}, "mesh:mcpServers.Bad_Name", "lowercase"),
        ({"mcpServers": {"docs": {"transport": "sse"}}}, "mesh:mcpServers.docs.transport", ""),
        ({"mcpOrchestrator": {"hostPort": 2376}}, "mesh:mcpOrchestrator.hostPort", "outside the orchestration range"),
        ({"mcpOrchestrator": {"dockerHost": "tcp://127.0.0.1:2375"}}, "mesh:mcpOrchestrator.dockerHost", "plaintext"),
        ({"mcpOrchestrator": {"image": "docker"}}, "mesh:mcpOrchestrator.image", "no tag"),
    ],
)
def test_mcp_config_mistakes_name_their_key(synth: Callable[..., Capture], raw_config: dict[str, Any], key: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as raised:
        synth(raw_config)
    assert raised.value.key == key
    assert fragment in raised.value.message
    assert "\n" not in str(raised.value)


def test_each_image_build_passes_exactly_the_arguments_the_dockerfile_declares():
    declared = {
        line.split()[1].split("=")[0] for line in (PROJECT_ROOT / "mcp" / "Dockerfile").read_text().splitlines() if line.startswith("ARG ")
    }
    builds = plan_image_builds(MCP_CATALOG.values())
    for name, spec in MCP_CATALOG.items():
        assert builds[name].args == {"NODE_IMAGE": spec.image, "DATA_PATH": spec.data_path or ""}
        assert set(builds[name].args) == declared
        assert (builds[name].server, builds[name].context, builds[name].dockerfile) == (name, spec.context, "mcp/Dockerfile")


def test_a_context_missing_its_files_names_them_the_package_and_the_make_target(tmp_path: Path):
    (tmp_path / "mcp").mkdir()
    shutil.copy(PROJECT_ROOT / "mcp" / "Dockerfile", tmp_path / "mcp" / "Dockerfile")
    docs = MCP_CATALOG["docs"]
    with pytest.raises(ConfigError) as missing:
        plan_image_builds([docs], tmp_path)
    assert missing.value.key == "mesh:mcpServers.docs.package"
    assert missing.value.message == (
        f"no package.json, package-lock.json, mcp-probe.mjs in {docs.context}/ to build {docs.package} from; "
        f"run `make mcp-lock` and commit {docs.context}/"
    )


def test_a_new_base_image_retags_the_server_built_on_it():
    docs = MCP_CATALOG["docs"]
    before = plan_image_builds([docs])["docs"].image_name
    bumped = docs.__class__(**{**docs.__dict__, "image": "node:22.99.0-bookworm-slim"})
    assert plan_image_builds([bumped])["docs"].image_name != before


def _docs_context(tmp_path: Path, manifest: dict[str, Any] | None = None, lock: dict[str, Any] | None = None) -> None:
    docs = MCP_CATALOG["docs"]
    shutil.copytree(PROJECT_ROOT / "mcp", tmp_path / "mcp")
    context = tmp_path / docs.context
    if manifest is not None:
        (context / "package.json").write_text(json.dumps(manifest))
    if lock is not None:
        (context / "package-lock.json").write_text(json.dumps(lock))


def test_a_context_generated_for_other_packages_or_overrides_is_refused_with_what_it_pins(tmp_path: Path):
    docs = MCP_CATALOG["docs"]
    wanted = {"mcp-fetch-server": "1.1.2", "supergateway": "4.0.0"}
    _docs_context(tmp_path, manifest={"dependencies": wanted, "overrides": {"x": "1.0.0"}})
    with pytest.raises(ConfigError) as overridden:
        plan_image_builds([docs], tmp_path)
    assert overridden.value.message == (
        f"{docs.context}/package.json pins {wanted}, not {wanted}; run `make mcp-lock` and commit {docs.context}/"
    )
    shutil.rmtree(tmp_path / "mcp")
    _docs_context(tmp_path, lock={"lockfileVersion": 3})
    with pytest.raises(ConfigError) as stale_lock:
        plan_image_builds([docs], tmp_path)
    assert stale_lock.value.key == "mesh:mcpServers.docs.package"
    assert stale_lock.value.message == (
        f"{docs.context}/package-lock.json was generated for other packages; run `make mcp-lock` and commit {docs.context}/"
    )
