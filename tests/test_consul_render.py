"""Discovery's renderers called directly, value by value: the documents Consul and consul-esm read, the ACL rules,
and each endpoint's check, tags and meta. Fast (no synthesis), so `make mutate` runs them against every mutant."""

from __future__ import annotations

import json

import hcl

from components.catalog.endpoint import Endpoint
from components.catalog.services import Check, Metrics
from components.render.consul import (
    AclPolicy,
    AclRule,
    ConsulAgentConfig,
    EsmConfig,
    backend_policy,
    check_definition,
    esm_policy,
    prometheus_policy,
    render_consul_agent_config,
    render_esm_config,
    service_meta,
    service_tags,
)


def endpoint(check: Check | None = None, metrics: Metrics | None = None, blackbox: bool = False, kind: str = "database") -> Endpoint:
    return Endpoint("redis", "redis-2", "redis-2", 6379, check, metrics, blackbox, "core", kind)


def test_the_consul_server_config_is_a_single_acl_enforcing_server_with_prometheus_metrics():
    text = render_consul_agent_config(ConsulAgentConfig(management_token="root-token", datacenter="dc7"))
    assert text.endswith("}\n")
    assert json.loads(text) == {
        "datacenter": "dc7",
        "node_name": "consul-server",
        "server": True,
        "bootstrap_expect": 1,
        "client_addr": "0.0.0.0",
        "data_dir": "/consul/data",
        "ui_config": {"enabled": True},
        "acl": {
            "enabled": True,
            "default_policy": "deny",
            "enable_token_persistence": True,
            "tokens": {"initial_management": "root-token"},
        },
        "telemetry": {"prometheus_retention_time": "60s", "disable_hostname": True},
    }


def test_consul_esm_runs_agentless_checks_of_the_external_node_and_never_reaps_it():
    text = render_esm_config(EsmConfig(token="esm-token", datacenter="dc7"))
    assert text.endswith("}\n")
    assert json.loads(text) == {
        "log_level": "INFO",
        "enable_agentless": True,
        "instance_id": "consul-esm",
        "consul_service": "consul-esm-agents",
        "consul_kv_path": "consul-esm/",
        "external_node_meta": {"external-node": "true"},
        "http_addr": "consul:8500",
        "token": "esm-token",
        "datacenter": "dc7",
        "client_address": "0.0.0.0:8080",
        "ping_type": "udp",
        "node_reconnect_timeout": "87600h",
        "telemetry": {"prometheus_retention_time": "60s", "disable_hostname": True},
    }


def test_an_acl_policy_renders_as_consul_hcl_rules():
    policy = AclPolicy("p", "d", (AclRule("operator", None, "read"), AclRule("service", 'we"ird', "write")))
    assert policy.render() == 'operator = "read"\nservice "we\\"ird" {\n  policy = "write"\n}\n'
    assert hcl.loads(policy.render()) == {"operator": "read", "service": {'we"ird': {"policy": "write"}}}


def test_consul_esm_may_write_only_its_node_its_services_its_kv_and_its_own_entries():
    policy = esm_policy("mesh-host", ["redis", "kong", "redis"], kv_path="esm/")
    assert (policy.name, policy.description) == ("consul-esm", "consul-esm: run the checks of the external node's services")
    assert policy.rules == (
        AclRule("agent", "consul-server", "read"),
        AclRule("operator", None, "read"),
        AclRule("key_prefix", "esm/", "write"),
        AclRule("node_prefix", "", "read"),
        AclRule("node", "mesh-host", "write"),
        AclRule("node_prefix", "consul-esm-agents:", "write"),
        AclRule("session", "consul-server", "write"),
        AclRule("session_prefix", "consul-esm-agents:", "write"),
        AclRule("service", "consul-esm-agents", "write"),
        AclRule("service", "kong", "write"),
        AclRule("service", "redis", "write"),
    )
    assert esm_policy("mesh-host", []).rules[2] == AclRule("key_prefix", "consul-esm/", "write")


def test_prometheus_and_the_backend_only_read():
    assert prometheus_policy() == AclPolicy(
        "prometheus",
        "Prometheus: discover services and scrape Consul's own metrics",
        (AclRule("service_prefix", "", "read"), AclRule("node_prefix", "", "read"), AclRule("agent_prefix", "", "read")),
    )
    assert backend_policy() == AclPolicy(
        "backend",
        "Backend API: look up services and their health",
        (AclRule("service_prefix", "", "read"), AclRule("node_prefix", "", "read")),
    )


def test_an_http_check_targets_the_instance_alias_at_its_path_and_never_deregisters():
    check = check_definition(endpoint(Check("http", 8080, "/ready")))
    assert check is not None
    assert (check.check_id, check.name, check.kind, check.target) == (
        "service:redis-2",
        "redis-2 HTTP on http://redis-2:8080/ready",
        "http",
        "http://redis-2:8080/ready",
    )
    assert (check.interval, check.timeout, check.deregister_critical_service_after) == ("10s", "5s", "0s")
    no_path = check_definition(endpoint(Check("http", 8080)))
    assert no_path is not None and no_path.target == "http://redis-2:8080/"


def test_a_tcp_check_targets_alias_and_port_and_no_check_means_none():
    check = check_definition(endpoint(Check("tcp", 6379)))
    assert check is not None
    assert (check.name, check.kind, check.target) == ("redis-2 TCP on redis-2:6379", "tcp", "redis-2:6379")
    assert check_definition(endpoint()) is None


def test_tags_mark_metrics_and_blackbox_once_each():
    assert service_tags(endpoint()) == ["core", "database"]
    assert service_tags(endpoint(metrics=Metrics(9121), blackbox=True)) == ["core", "database", "metrics", "blackbox"]
    assert service_tags(endpoint(kind="core")) == ["core"]


def test_meta_splits_the_metrics_path_from_its_url_parameters():
    assert service_meta(endpoint()) == {"category": "core", "kind": "database", "instance": "redis-2"}
    assert service_meta(endpoint(metrics=Metrics(9121, "/v1/metrics?format=prometheus&x=1"))) == {
        "category": "core",
        "kind": "database",
        "instance": "redis-2",
        "metrics_path": "/v1/metrics",
        "metrics_port": "9121",
        "metrics_param_format": "prometheus",
        "metrics_param_x": "1",
    }
