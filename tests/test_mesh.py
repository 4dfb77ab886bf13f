"""The default stack, as the program registers it: every service healthy-gated, bound, retained, secret."""

from __future__ import annotations

import json
import re

from components.catalog.services import CATALOG
from components.model.mesh import DEFAULT_PORT_RANGES, decode_config_value, parse_mesh_config, strip_namespace
from components.offline.assertions import Match
from components.offline.synth import Capture, Registration, Secret
from components.offline.types import CONTAINER, NETWORK, REMOTE_IMAGE, VOLUME
from components.plan.addresses import access_points
from components.plan.endpoints import service_endpoints
from components.plan.gateway import plan_gateway
from components.plan.mcp import mcp_endpoints, mcp_urls, resolve_mcp
from components.plan.services import resolve_services
from components.plan.stack import plan_stack
from tests import queries

CREDENTIAL_NAME = re.compile(r"PASSWORD|PASS$|SECRET|TOKEN|AUTH|KEY", re.IGNORECASE)


def catalog_containers(capture: Capture) -> list[Registration]:
    """Containers of catalog services (not the orchestrator; `queries.host_containers` includes it)."""
    return [r for r in capture.all(CONTAINER) if r.label("mesh.service") in CATALOG]


def test_the_default_stack_runs_at_least_twenty_containers_one_per_enabled_catalog_service(plan):
    enabled = {name for name, spec in CATALOG.items() if spec.enabled}
    assert len(enabled) >= 20
    assert {r.label("mesh.service") for r in catalog_containers(plan)} == enabled


def test_every_container_has_a_healthcheck_and_is_waited_on(plan):
    healthcheck = Match.that("a CMD or CMD-SHELL healthcheck with a command", lambda tests: tests[0] in {"CMD", "CMD-SHELL"} and tests[1:])
    plan.all_resources_properties(
        CONTAINER, {"healthcheck": {"tests": healthcheck}, "wait": True, "waitTimeout": Match.that("positive", lambda s: s > 0)}
    )


def test_every_published_port_binds_to_the_bind_address_and_lies_in_its_category_range(plan):
    for container in catalog_containers(plan):
        low, high = DEFAULT_PORT_RANGES[str(container.label("mesh.category"))]
        for port in container.plain.get("ports") or []:
            assert port["ip"] == "127.0.0.1", container.name
            assert low <= port["external"] <= high, (container.name, port)


def test_access_points_name_the_address_each_port_really_binds(synth):
    capture = synth({"bindAddress": "0.0.0.0", "proxyBindAddress": "192.0.2.10"})
    points = capture.outputs["accessPoints"]
    assert points["kong.status"] == "http://127.0.0.1:10015"  # the status listener stays on loopback whatever the bind address
    assert points["kong.proxy"] == "http://192.0.2.10:10005"
    assert points["postgres"] == "postgresql://127.0.0.1:10000"


def test_the_bind_address_from_config_reaches_every_published_port(synth):
    capture = synth({"bindAddress": "192.0.2.10"})
    # Kong's status listener is the one exception: it stays on loopback (tests/test_gateway.py)
    ips = {
        port["ip"]
        for container in catalog_containers(capture)
        for port in container.plain.get("ports") or []
        if (container.name, port["internal"]) != ("kong", 8100)
    }
    assert ips == {"192.0.2.10"}


def test_no_two_services_share_a_host_port(plan):
    owners: dict[int, str] = {}
    # (the MCP servers publish on the orchestrator's nested daemon; the orchestrator republishes them on the host)
    for container in queries.host_containers(plan):
        for port in container.plain.get("ports") or []:
            assert port["external"] not in owners, (container.name, owners.get(port["external"]))
            owners[port["external"]] = container.name
    assert len(owners) >= 20


def test_data_volumes_are_retained_and_containers_are_replaced_delete_first(plan):
    volumes = plan.all(VOLUME)
    assert {v.plain["name"] for v in volumes} >= {
        "sutazai-postgres-data",
        "sutazai-redis-data",
        "sutazai-neo4j-data",
        "sutazai-qdrant-data",
    }
    assert all(volume.retain_on_delete for volume in volumes)
    assert all(container.delete_before_replace for container in plan.all(CONTAINER))


def test_each_data_volume_is_mounted_where_the_image_keeps_its_data(plan):
    mounts = {
        container.label("mesh.service"): {
            v["volumeName"]: v["containerPath"] for v in container.plain.get("volumes") or [] if "volumeName" in v
        }
        for container in catalog_containers(plan)
    }
    assert mounts["postgres"] == {"sutazai-postgres-data": "/var/lib/postgresql/data"}
    assert mounts["redis"] == {"sutazai-redis-data": "/data"}
    assert mounts["qdrant"] == {"sutazai-qdrant-data": "/qdrant/storage"}


def test_postgres_18_gets_its_volume_at_the_new_data_root(synth):
    capture = synth({"services": {"postgres": {"image": "postgres:18.1-alpine"}}})
    volumes = capture.one(CONTAINER, "postgres").plain["volumes"]
    assert volumes == [{"volumeName": "sutazai-postgres-data", "containerPath": "/var/lib/postgresql"}]


def test_every_container_is_hardened_limited_and_restarted(plan):
    for container in plan.all(CONTAINER):
        props = container.plain
        assert props["restart"] == "unless-stopped", container.name
        assert props["memory"] > 0, container.name
        if not props.get("privileged"):
            assert "no-new-privileges:true" in props["securityOpts"], container.name


def test_every_service_joins_the_mesh_network_under_its_own_name(plan):
    network = plan.one(NETWORK, "mesh-networks-mesh").plain["name"]
    assert network == "sutazai-network"
    for container in catalog_containers(plan):
        attachments = {attachment["name"]: attachment for attachment in container.plain["networksAdvanced"]}
        spec = CATALOG[str(container.label("mesh.service"))]
        # the socket proxy alone is off the mesh network; its clients are on both
        expected = {"proxy": {"sutazai-docker-api"}, "client": {network, "sutazai-docker-api"}}.get(spec.docker_api or "", {network})
        assert set(attachments) == expected, container.name
        assert all(container.label("mesh.service") in attachment["aliases"] for attachment in attachments.values())


def test_the_docker_api_network_is_internal_and_joined_only_by_the_proxy_and_its_clients(plan):
    docker_api = plan.one(NETWORK, "mesh-networks-docker-api").plain
    assert (docker_api["name"], docker_api["internal"]) == ("sutazai-docker-api", True)
    joined = {c.label("mesh.service") for c in plan.all(CONTAINER) for n in c.plain["networksAdvanced"] if n["name"] == docker_api["name"]}
    assert joined == {"docker-socket-proxy", "alloy", "cadvisor"}


def test_images_are_pinned_and_pulled_once_per_host_service(plan):
    host_images = [image.plain["name"] for image in plan.all(REMOTE_IMAGE) if not image.provider]
    assert len(host_images) == len(set(host_images))
    for image in [image.plain["name"] for image in plan.all(REMOTE_IMAGE)]:
        tag = image.rsplit("/", 1)[-1].partition(":")[2]
        assert tag and tag != "latest", image


def test_every_credential_in_a_container_environment_is_a_secret(plan):
    checked = 0
    for container in plan.all(CONTAINER):
        props = container.props
        envs = props.get("envs")
        for entry in (envs.value if isinstance(envs, Secret) else envs) or []:
            name = (entry.value if isinstance(entry, Secret) else entry).split("=", 1)[0]
            if CREDENTIAL_NAME.search(name):
                assert isinstance(envs, Secret) or isinstance(entry, Secret), (container.name, name)
                checked += 1
    assert checked >= 6  # postgres, exporter, redis, redis-exporter, neo4j, grafana


def test_rendered_files_carrying_passwords_are_secret_uploads(plan):
    redis_uploads = plan.one(CONTAINER, "redis").props["uploads"]
    assert isinstance(redis_uploads, Secret) or isinstance(redis_uploads[0]["content"], Secret)
    rabbit = plan.one(CONTAINER, "rabbitmq")
    assert any(path.startswith("uploads") for path in rabbit.secret_paths())


def test_connection_strings_are_secret_stack_outputs(plan):
    strings = plan.outputs["connectionStrings"]
    assert isinstance(strings, Secret)
    assert set(strings.value) == {"postgres", "redis", "neo4j", "rabbitmq"}
    assert strings.value["postgres"].startswith("postgresql://mesh_app:")  # the application role, not the superuser
    assert strings.value["postgres"].endswith("@postgres:5432/mesh")


def test_outputs_list_access_points_and_deployed_services(plan):
    assert plan.outputs["accessPoints"]["postgres"] == "postgresql://127.0.0.1:10000"
    assert plan.outputs["accessPoints"]["kong.proxy"] == "http://127.0.0.1:10005"
    assert plan.outputs["services"] == [name for name, spec in CATALOG.items() if spec.enabled]


def test_disabling_a_service_removes_every_resource_it_had(plan, synth):
    capture = synth({"services": {"redis": {"enabled": False}, "redis-exporter": {"enabled": False}}})
    assert capture.all(name="redis") == [] and capture.all(name="redis-exporter") == []
    assert not [r for r in capture.resources if r.name.startswith("redis")]
    assert "redis" not in capture.outputs["services"]
    assert "redis" not in capture.outputs["connectionStrings"].value
    assert len(plan.resources) - len(capture.resources) == len([r for r in plan.resources if r.name.startswith("redis")])


def test_optional_ollama_is_off_by_default_and_deployable_on_request(plan, synth):
    assert plan.all(CONTAINER, "ollama") == []
    capture = synth({"services": {"ollama": {"enabled": True}}})
    assert capture.one(CONTAINER, "ollama").plain["ports"][0]["external"] == 10104


def test_replicas_each_get_a_container_with_their_own_alias_behind_the_shared_one(synth):
    capture = synth({"services": {"blackbox-exporter": {"replicas": 3}}})
    replicas = [capture.one(CONTAINER, name) for name in ("blackbox-exporter", "blackbox-exporter-2", "blackbox-exporter-3")]
    aliases = [r.plain["networksAdvanced"][0]["aliases"] for r in replicas]
    assert aliases == [
        ["blackbox-exporter", "blackbox-exporter-1"],
        ["blackbox-exporter", "blackbox-exporter-2"],
        ["blackbox-exporter", "blackbox-exporter-3"],
    ]
    # one host port cannot serve three containers: the extra replicas are reached on the mesh network
    assert [bool(r.plain.get("ports")) for r in replicas] == [True, False, False]


def test_overrides_change_image_limits_and_ports(synth):
    capture = synth({"services": {"redis": {"image": "redis:8.0-alpine", "memoryMb": 256, "cpus": 0.5, "hostPorts": [10050]}}})
    assert capture.one(REMOTE_IMAGE, "redis-image").plain["name"] == "redis:8.0-alpine"
    redis = capture.one(CONTAINER, "redis").plain
    assert (redis["memory"], redis["cpus"], redis["ports"][0]["external"]) == (256, "0.5", 10050)


def test_containers_wait_only_for_containers_their_healthcheck_needs(plan):
    containers = {c.urn: c.name for c in plan.all(CONTAINER)}
    waits = {(c.name, containers[d]) for c in plan.all(CONTAINER) for d in c.dependencies if d in containers}
    # exporters report the database as down until it answers; they need not wait for it to start
    # cAdvisor registers its Docker factory once, at start: it needs the socket proxy answering by then
    assert waits == {("consul-esm", "consul"), ("cadvisor", "docker-socket-proxy")}


def test_rendered_rabbitmq_definitions_are_loaded_through_rabbitmq_conf(plan):
    conf = plan.rendered_files["rabbitmq/rabbitmq.conf"]
    assert "load_definitions = /etc/rabbitmq/definitions.json" in conf.splitlines()
    definitions = json.loads(plan.rendered_files["rabbitmq/definitions.json"])
    assert definitions["users"][0]["name"] == "mesh"
    assert definitions["permissions"][0]["vhost"] == "mesh"


# --- the pure plan functions behind the outputs, called directly (fast: `make mutate` runs these against every mutant) ---
def test_access_points_follow_the_bind_address_with_per_port_exceptions_and_schemes():
    services = resolve_services(parse_mesh_config({}))
    points = access_points(services, "0.0.0.0", {"kong": {8100: "127.0.0.1", 8000: "192.0.2.10"}})
    assert points["postgres"] == "postgresql://127.0.0.1:10000"
    assert points["redis"] == "redis://127.0.0.1:10001"
    assert (points["neo4j.http"], points["neo4j.bolt"]) == ("http://127.0.0.1:10002", "bolt://127.0.0.1:10003")
    assert (points["kong.proxy"], points["kong.status"]) == ("http://192.0.2.10:10005", "http://127.0.0.1:10015")
    assert points["rabbitmq.amqp"] == "amqp://127.0.0.1:10007"
    assert points["qdrant.grpc"] == "grpc://127.0.0.1:10102"
    assert access_points(services, "::1", {})["prometheus"] == "http://[::1]:10200"
    assert len(points) == sum(len(service.spec.published_ports) for service in services)


def test_each_mcp_url_is_its_published_port_and_path_on_the_bind_address():
    config = parse_mesh_config({"bindAddress": "192.0.2.10"})
    urls = mcp_urls(resolve_mcp(config, resolve_services(config)), config)
    assert urls["mcp-files"] == "http://192.0.2.10:3003/mcp"
    assert len(urls) == 6


def test_log_retention_is_converted_to_exact_hours():
    for retention, hours in [("36h", 36), ("14d", 336), ("2w", 336)]:
        assert parse_mesh_config({"telemetry": {"logRetention": retention}}).telemetry.log_retention_hours() == hours


def test_engine_config_keeps_mesh_keys_without_prefix_and_decodes_json_text():
    raw = {"mesh:services": '{"redis": {"memoryMb": 512}}', "mesh:bindAddress": "127.0.0.1", "mesh:odd": "[not json", "other:key": "x"}
    assert strip_namespace(raw) == {"services": {"redis": {"memoryMb": 512}}, "bindAddress": "127.0.0.1", "odd": "[not json"}
    assert decode_config_value('["a"]') == ["a"]
    assert decode_config_value("plain") == "plain"
    assert decode_config_value(7) == 7


def test_the_stack_plan_holds_the_config_services_mcp_endpoints_and_gateway_it_checked():
    config = parse_mesh_config({})
    plan = plan_stack(config)
    services = resolve_services(config)
    mcp = resolve_mcp(config, services)
    assert plan.config is config
    assert plan.services == tuple(services)
    assert plan.mcp == mcp
    assert plan.endpoints == tuple(service_endpoints(services) + mcp_endpoints(mcp))
    assert plan.gateway == plan_gateway(config, list(plan.endpoints))
    assert plan.service_names == tuple(service.name for service in services)
    redis = plan.service("redis")
    assert redis is not None and redis.name == "redis"
    assert plan.service("ollama") is None


def test_the_rabbitmq_application_user_is_no_administrator(plan):
    definitions = json.loads(plan.rendered_files["rabbitmq/definitions.json"])
    users = {user["name"]: user for user in definitions["users"]}
    # AMQP on its vhost only: no management tag at all; the UI has its own administrator with its own password
    assert users["mesh"]["tags"] == []
    assert users["mesh-admin"]["tags"] == ["administrator"]
    assert users["mesh"]["password_hash"] != users["mesh-admin"]["password_hash"]
    assert [p["user"] for p in definitions["permissions"]] == ["mesh"]
    admin = plan.outputs["rabbitmqAdmin"]
    assert isinstance(admin, Secret) and admin.value["user"] == "mesh-admin"


def test_an_image_whose_entrypoint_drops_root_keeps_only_the_capabilities_to_chown_and_switch_user_with_reasons():
    # docker-library entrypoints start as root, chown the data volume and re-exec as the service user (gosu/su-exec)
    for name, user in {"postgres": "postgres", "redis": "redis", "neo4j": "neo4j", "consul": "consul", "rabbitmq": "rabbitmq"}.items():
        hardening = CATALOG[name].hardening
        assert hardening.capabilities == ("CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_SETGID", "CAP_SETUID"), name
        assert hardening.capabilities_reason == f"chown of the data volume and the switch to {user}"
        assert hardening.root_reason == f"the image's entrypoint starts as root to chown its data volume, then runs the server as {user}"
    # what else a service needs rides along: PostgreSQL's socket directory, the writable root of uploaded configs
    assert CATALOG["postgres"].hardening.writable_paths == ("/tmp", "/var/run/postgresql")
    assert CATALOG["redis"].hardening.writable_root_reason is not None and CATALOG["postgres"].hardening.writable_root_reason is None
