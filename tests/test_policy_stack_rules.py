"""The exact verdicts of the pack's provider, image, memory, restart, privilege, Consul, credential and stack-wide rules,
down to the resource, value and fix each message names (the mutation review of issue 19)."""

from __future__ import annotations

from typing import Any

import pulumi_policy
import pytest

from components.offline.synth import Capture, Secret
from components.offline.types import CONTAINER, SERVICE
from policies.offline import _resource_args, evaluate
from policies.rules import (
    BUILT_IMAGE,
    CredentialEnvPolicy,
    build_policies,
    check_consul_checks,
    check_docker_provider,
    check_memory_limit,
    check_no_new_privileges,
    check_plaintext_docker,
    check_restart_policy,
    check_secrets_as_files,
    check_sensitive_ports,
    check_stateful_placement,
    plaintext_credentials,
)
from policies.settings import policy_config
from tests.policy_fixtures import consul_service, container_props, registration, swarm_service_props, urn_of, with_resources


def unlabelled(ports: list[tuple[int, int]] | None = None, **changes: Any) -> dict[str, Any]:
    """A container registered with no Docker name and no mesh labels (one added outside the catalog):
    messages and exemptions fall back to its resource name."""
    props = container_props("legacy", "core", ports or [], **changes)
    del props["name"], props["labels"]
    return props


def verdicts(capture: Capture, policy: str, config: dict[str, Any] | None = None) -> list[tuple[str, str]]:
    """(resource, message) of each violation of one policy, run offline as `make plan` runs it."""
    chosen = [candidate for candidate in build_policies() if candidate.name == policy]
    return [(violation.resource, violation.message) for violation in evaluate(capture, {policy: config or {}}, chosen)]


# --- sensitive ports and the plaintext Docker API --------------------------------------------------


@pytest.mark.parametrize(("ip", "shown"), [(None, "0.0.0.0 (unset)"), ("0.0.0.0", "0.0.0.0"), ("192.168.1.5", "192.168.1.5")])
def test_the_kong_admin_port_of_an_unlabelled_container_is_refused_naming_its_resource_and_address(ip: str | None, shown: str) -> None:
    props = {"ports": [{"internal": 8001, "external": 10015, "ip": ip}]}
    assert list(check_sensitive_ports("kong", props, policy_config("sensitive-port-loopback", {}))) == [
        f"kong publishes its sensitive port 8001 (host 10015) on {shown}; it must bind to loopback only (no allow-list can open it)"
    ]


def test_a_container_that_points_at_or_publishes_the_plaintext_docker_api_is_named_by_its_resource() -> None:
    props = unlabelled([(2375, 12375)], envs=["DOCKER_HOST=tcp://dind:2375"])
    assert verdicts(Capture(resources=[registration(CONTAINER, "legacy", props)]), "no-plaintext-docker-port") == [
        ("legacy", "legacy points DOCKER_HOST at tcp://dind:2375, a plaintext Docker API; use tcp://<host>:2376 with TLS"),
        ("legacy", "legacy publishes port 2375->12375, the plaintext Docker API; serve TLS on 2376 only"),
    ]


@pytest.mark.parametrize("docker_host", ["unix:///var/run/docker.sock", "ssh://deploy@builder", "tcp://dind:2376"])
def test_a_docker_host_on_a_socket_ssh_or_the_tls_port_is_not_the_plaintext_api(docker_host: str) -> None:
    assert list(check_plaintext_docker("runner", {"envs": [f"DOCKER_HOST={docker_host}"]}, {})) == []


@pytest.mark.parametrize("host", ["unix:///var/run/docker.sock", "ssh://deploy@builder"])
def test_a_docker_provider_on_a_local_socket_or_ssh_needs_no_tls_material(host: str) -> None:
    assert list(check_docker_provider("builder", {"host": host}, {})) == []


@pytest.mark.parametrize("tls_setting", ["caMaterial", "certMaterial", "keyMaterial", "certPath"])
def test_each_tls_setting_of_a_tcp_docker_provider_is_read_under_its_engine_name(tls_setting: str) -> None:
    host = "tcp://127.0.0.1:12376"
    assert list(check_docker_provider("dind", {"host": host, tls_setting: "/certs"}, {})) == []
    assert list(check_docker_provider("dind", {"host": host}, {})) == [
        "Docker provider dind connects to tcp://127.0.0.1:12376 without TLS; "
        "point it at port 2376 with ca_material, cert_material and key_material"
    ]


# --- images, memory, restart, no-new-privileges ------------------------------------------------------


def test_a_built_image_and_a_swarm_service_image_without_a_tag_float_and_are_refused() -> None:
    service = swarm_service_props("postgres")
    service["taskSpec"]["containerSpec"]["image"] = "postgres"
    capture = Capture(
        resources=[
            registration(BUILT_IMAGE, "backend-image", {"imageName": "registry.local:5000/mesh/backend", "build": {"context": "."}}),
            registration(BUILT_IMAGE, "worker-image", {"imageName": "mesh/worker:latest"}),
            registration(BUILT_IMAGE, "agent-image", {"imageName": "mesh/agent:2.1"}),
            registration(SERVICE, "postgres-swarm", service),
        ]
    )
    assert verdicts(capture, "image-pinned") == [
        (
            "backend-image",
            "image registry.local:5000/mesh/backend (backend-image) has no tag, so it floats; "
            "pin a version tag (e.g. registry.local:5000/mesh/backend:1.2) or a digest",
        ),
        ("worker-image", "image mesh/worker:latest (worker-image) uses 'latest', so it floats; pin a version tag or a digest"),
        ("postgres-swarm", "image postgres (postgres-swarm) has no tag, so it floats; pin a version tag (e.g. postgres:1.2) or a digest"),
    ]


@pytest.mark.parametrize(("memory", "shown"), [(None, "None"), (0, "0"), ("0", "'0'"), (-256, "-256")])
def test_a_container_without_a_positive_memory_limit_is_refused_naming_the_value(memory: Any, shown: str) -> None:
    props = {} if memory is None else {"memory": memory}
    assert list(check_memory_limit("worker", props, {})) == [
        f"worker has no memory limit (memory={shown}); set memory (MB) so one service cannot exhaust the host"
    ]


@pytest.mark.parametrize("memory", [1, 0.5, "256"])
def test_any_positive_memory_limit_passes_even_given_as_text(memory: Any) -> None:
    assert list(check_memory_limit("worker", {"memory": memory}, {})) == []


@pytest.mark.parametrize(
    ("props", "given", "messages"),
    [
        ({"__service": True, "restart": "any"}, {}, []),
        ({"__service": True, "restart": "on-failure"}, {}, ["service postgres restarts on on-failure; set restart_policy.condition='any'"]),
        ({"__service": True}, {}, ["service postgres restarts on unset; set restart_policy.condition='any'"]),
        (
            {"__service": True, "restart": "any"},
            {"requiredCondition": "on-failure"},
            ["service postgres restarts on any; set restart_policy.condition='on-failure'"],
        ),
        ({"restart": "unless-stopped"}, {}, []),
        ({}, {}, ["postgres has restart policy unset (no); set restart='unless-stopped'"]),
        ({"restart": "no"}, {"required": "always"}, ["postgres has restart policy no; set restart='always'"]),
    ],
)
def test_the_restart_rule_names_the_service_its_policy_and_the_required_one(
    props: dict[str, Any], given: dict[str, Any], messages: list[str]
) -> None:
    assert list(check_restart_policy("postgres", props, policy_config("restart-policy", given))) == messages


@pytest.mark.parametrize("option", ["no-new-privileges", "no-new-privileges:true", "no-new-privileges=true"])
def test_each_spelling_docker_accepts_for_no_new_privileges_passes(option: str) -> None:
    assert list(check_no_new_privileges("worker", {"securityOpts": ["apparmor=docker-default", option]}, {})) == []


def test_a_container_that_may_gain_privileges_is_refused_naming_it_and_its_options() -> None:
    assert list(check_no_new_privileges("worker", {"securityOpts": ["no-new-privileges:false"]}, {})) == [
        "worker may gain privileges (security_opts=['no-new-privileges:false']); add security_opts=['no-new-privileges:true']"
    ]


# --- Consul checks, swarm placement and secrets -------------------------------------------------------


@pytest.mark.parametrize(
    ("checks", "messages"),
    [
        # a check without an interval (a TTL check) is neither counted nor listed; alone, the message says so
        ([{"ttl": "30s"}, {"interval": "10s"}], []),
        ([{"ttl": "30s"}], ["Consul service postgres has no check that runs on an interval; set a check interval <= 10s"]),
        ([{"ttl": "30s"}, {"interval": "30s"}], ["Consul service postgres checks every 30s, none within 10s; set a check interval <= 10s"]),
        (
            [{"interval": "30s"}, {"interval": "1m"}],
            ["Consul service postgres checks every 30s, 1m, none within 10s; set a check interval <= 10s"],
        ),
    ],
)
def test_a_consul_service_needs_one_check_within_the_interval_and_the_message_lists_them_all(
    checks: list[dict[str, str]], messages: list[str]
) -> None:
    config = policy_config("consul-service-check-interval", {})
    assert list(check_consul_checks("postgres-registration", {"name": "postgres", "checks": checks}, config)) == messages


def test_a_stateful_swarm_service_without_a_name_is_named_by_its_resource() -> None:
    props = {"__service": True, "mounts": [{"type": "volume", "source": "pg-data"}], "replicas": 2, "placement": {}}
    assert list(check_stateful_placement("pg-swarm", props, {})) == [
        "service pg-swarm keeps data in volume pg-data but runs 2 task(s) with constraints [] and max_replicas unlimited; "
        "pin one task to a labelled node (node.labels.mesh.data.<service>==true) or run one task per node"
    ]


def test_a_swarm_credential_whose_value_ends_in_base64_padding_is_refused_under_its_name() -> None:
    config = policy_config("swarm-secrets-as-files", {})
    assert list(check_secrets_as_files("pg-swarm", {"__service": True, "envs": ["POSTGRES_PASSWORD=c2VjcmV0=="]}, config)) == [
        "service pg-swarm sets POSTGRES_PASSWORD in its environment; deliver it as a docker.Secret file (POSTGRES_PASSWORD_FILE)"
    ]


# --- the credential remediation ----------------------------------------------------------------------------


def test_plaintext_credentials_are_found_in_any_case_after_a_secret_and_with_equals_signs_in_their_values() -> None:
    envs = [pulumi_policy.Secret("DB_PASSWORD=x"), "api_token=dG9rZW4=", "MODE=production", "Auth=user=admin"]
    assert plaintext_credentials({"envs": envs}, policy_config("credential-env-secret", {})) == ["api_token", "Auth"]


PLAINTEXT_ENVS = ["MODE=production", Secret("DB_PASSWORD=x"), "API_TOKEN=dG9rZW4=", "POSTGRES_PASSWORD=hunter2"]


def remediated_envs(config: dict[str, Any]) -> list[tuple[str, Any]] | None:
    """The environment the remediation hands back to the engine for the unlabelled container, each entry as
    (secret or plain, value); None when it leaves the container alone."""
    capture = Capture(resources=[registration(CONTAINER, "legacy", unlabelled(envs=PLAINTEXT_ENVS))])
    remediated = CredentialEnvPolicy().remediate(_resource_args(capture, capture.resources[0], config, keep_secrets=True))
    if remediated is None:
        return None
    return [("secret", entry.value) if isinstance(entry, pulumi_policy.Secret) else ("plain", entry) for entry in remediated["envs"]]


def test_the_remediation_wraps_exactly_the_plaintext_credentials_and_keeps_the_rest() -> None:
    assert remediated_envs({}) == [
        ("plain", "MODE=production"),
        ("secret", "DB_PASSWORD=x"),
        ("secret", "API_TOKEN=dG9rZW4="),
        ("secret", "POSTGRES_PASSWORD=hunter2"),
    ]


def test_an_unlabelled_container_is_exempt_from_the_remediation_under_its_resource_name() -> None:
    assert remediated_envs({"exemptServices": ["legacy"]}) is None


def test_the_remediation_verdicts_name_an_unlabelled_container_by_its_resource_and_each_plaintext_credential() -> None:
    capture = Capture(resources=[registration(CONTAINER, "legacy", unlabelled(envs=PLAINTEXT_ENVS))])
    fix = "in plaintext; the pack marks it secret, but pass it through pulumi.Output.secret"
    assert verdicts(capture, "credential-env-secret") == [
        ("legacy", f"legacy sets API_TOKEN {fix}"),
        ("legacy", f"legacy sets POSTGRES_PASSWORD {fix}"),
    ]


# --- stack rules and the policies built around the checks ----------------------------------------------


def test_a_shared_host_port_names_both_unlabelled_containers_and_is_reported_on_the_second() -> None:
    capture = Capture(
        resources=[
            registration(CONTAINER, "first", unlabelled([(5432, 10000)])),
            registration(CONTAINER, "second", unlabelled([(6379, 10000)])),
        ]
    )
    chosen = [policy for policy in build_policies() if policy.name == "unique-host-ports"]
    assert [(v.resource, v.urn, v.message) for v in evaluate(capture, {}, chosen)] == [
        ("second", urn_of(CONTAINER, "second"), "host port 10000 is published by both first and second; give one of them another host port")
    ]


def test_a_swarm_service_and_a_container_on_one_host_port_collide() -> None:
    service = swarm_service_props("postgres")
    service["endpointSpec"] = {"mode": "vip", "ports": [{"targetPort": 5432, "publishedPort": 10000, "publishMode": "host"}]}
    capture = Capture(
        resources=[
            registration(CONTAINER, "redis", container_props("redis", "core", [(6379, 10000)])),
            registration(SERVICE, "postgres-swarm", service),
        ]
    )
    assert verdicts(capture, "unique-host-ports") == [
        ("postgres-swarm", "host port 10000 is published by both sutazai-redis and postgres; give one of them another host port")
    ]


def test_an_unlabelled_container_is_registered_and_exempted_in_consul_under_its_resource_name() -> None:
    capture = Capture(resources=[registration(CONTAINER, "legacy", unlabelled())])
    assert verdicts(capture, "registered-in-consul") == [
        ("legacy", "legacy (service legacy) has no consul.Service named 'legacy'; register it with a check, or exempt it")
    ]
    assert verdicts(with_resources(capture, consul_service("legacy")), "registered-in-consul") == []
    assert verdicts(capture, "registered-in-consul", {"exemptServices": ["legacy"]}) == []


def test_an_unlabelled_container_is_exempt_from_a_resource_rule_under_its_resource_name() -> None:
    capture = Capture(resources=[registration(CONTAINER, "legacy", unlabelled(memory=None))])
    assert verdicts(capture, "memory-limit") == [
        ("legacy", "legacy has no memory limit (memory=None); set memory (MB) so one service cannot exhaust the host")
    ]
    assert verdicts(capture, "memory-limit", {"exemptServices": ["legacy"]}) == []


def test_every_policy_tells_the_cli_how_to_fix_its_violation() -> None:
    assert [policy.name for policy in build_policies() if not policy.remediation_steps] == []
