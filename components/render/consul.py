"""Discovery's rendered files and ACL rules: the Consul server's agent config, consul-esm's config,
the ACL policies, and the health-check definition of every endpoint. Pure: no Pulumi.

The keys are the ones Consul and consul-esm document (Consul's agent configuration reference;
consul-esm's README and its `HumanConfig`, which rejects unknown keys).
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import parse_qsl, urlsplit

from components.catalog.endpoint import Endpoint
from components.catalog.names import CONSUL, CONSUL_ESM, CONSUL_EXPORTER
from components.catalog.services import CATALOG

CONSUL_HTTP_PORT = CATALOG[CONSUL].main_port.internal
CONSUL_AGENT_CONFIG_PATH = "/consul/config/mesh.json"
"""The official image's entrypoint starts `consul agent -config-dir=/consul/config`, so this file is loaded."""
CONSUL_DATA_DIR = "/consul/data"
CONSUL_NODE_NAME = "consul-server"
CONSUL_SERVICE_NAME = "consul"
"""The service every Consul server registers itself under (with its version in the service meta)."""

ESM_CONFIG_PATH = "/etc/consul-esm.json"
ESM_METRICS_PORT = CATALOG[CONSUL_ESM].main_port.internal
ESM_KV_PATH = "consul-esm/"
ESM_COORDINATION_SERVICE = "consul-esm-agents"
"""The service name consul-esm registers *itself* under to share out the work. It must differ from every
service this stack registers: each healthy instance of it is handed a share of the external nodes, so a
registration of ours under the same name would be given the checks and nobody would run them."""

EXTERNAL_NODE_NAME = "mesh-host"
"""The catalog node every service of the mesh is registered on (consul-esm checks the services of external nodes)."""
EXTERNAL_NODE_ADDRESS = "host.docker.internal"
"""How consul-esm reaches the Docker host (the consul-esm container maps it to Docker's `host-gateway`)."""
EXTERNAL_NODE_META = {"external-node": "true", "external-probe": "true"}

CHECK_INTERVAL = "10s"
CHECK_TIMEOUT = "5s"
DEREGISTER_CRITICAL_AFTER = "0s"
"""Never deregister a critical service. consul-esm reaps a service only when this is above zero
(`timeout > 0 && timeout < time.Since(criticalTime)` in its check runner); the provider's default is 30s,
and it reads the value back as Go's `Duration.String()`, so `0s` (not `0`) round-trips without a diff."""

PolicyVerb = Literal["read", "write", "deny"]


@dataclass(frozen=True)
class ConsulAgentConfig:
    """The single Consul server of the mesh."""

    management_token: str
    datacenter: str = "dc1"
    node_name: str | None = CONSUL_NODE_NAME
    """None: the host name (on a swarm, one per task: `consul-{{.Node.Hostname}}`)."""
    bootstrap_expect: int = 1
    client_addr: str = "0.0.0.0"
    data_dir: str = CONSUL_DATA_DIR
    ui: bool = True
    prometheus_retention_time: str = "60s"
    """Above zero, so `/v1/agent/metrics?format=prometheus` serves metrics (Prometheus scrapes every 15-30s)."""
    retry_join: tuple[str, ...] = ()
    """Addresses of the other servers (a DNS name resolving to all of them: the swarm's `dnsrr` service name)."""
    bind_addr: str | None = None
    """Consul's cluster address; on a swarm a go-sockaddr template picking the overlay's interface."""


def render_consul_agent_config(config: ConsulAgentConfig) -> str:
    """The server's agent config as JSON (Consul reads `.json` files of its config dir)."""
    document: dict[str, object] = {
        "datacenter": config.datacenter,
        "node_name": config.node_name,
        "server": True,
        "bootstrap_expect": config.bootstrap_expect,
        "client_addr": config.client_addr,
        "data_dir": config.data_dir,
        "ui_config": {"enabled": config.ui},
        "acl": {
            "enabled": True,
            "default_policy": "deny",
            "enable_token_persistence": True,
            "tokens": {"initial_management": config.management_token},
        },
        "telemetry": {"prometheus_retention_time": config.prometheus_retention_time, "disable_hostname": True},
    }
    if config.node_name is None:
        del document["node_name"]
    if config.retry_join:
        document["retry_join"] = list(config.retry_join)
    if config.bind_addr is not None:
        document["bind_addr"] = config.bind_addr
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def render_consul_start_script(node_name: str | None = CONSUL_NODE_NAME, datacenter: str = "dc1") -> str:
    """The server container's command: the image's own start, then, once a leader exists, an agent token with the
    server's node identity (so its anti-entropy and coordinate updates stop being "blocked by ACLs").

    pulumi_consul cannot create a token with a known secret, and the server must run before any token exists, so
    the container sets it itself, once per data directory: `enable_token_persistence` keeps it in
    `acl-tokens.json` on the volume. The management token is read from the rendered config already in the
    container. TERM/INT are passed on to the agent and its exit status is the container's.
    """
    create = shlex.join(
        [
            "consul", "acl", "token", "create", "-description", f"{node_name or 'HOSTNAME'} agent token (node identity)",
            "-node-identity", f"{node_name or 'HOSTNAME'}:{datacenter}", "-format", "json",
        ]
    )  # fmt: skip
    if node_name is None:
        # the node is named after the host (a swarm task's `consul-<node>`): the shell supplies the name
        create = create.replace("'HOSTNAME agent token (node identity)'", '"$(hostname) agent token (node identity)"')
        create = create.replace("HOSTNAME:", '"$(hostname)":')
    return f"""set -u
docker-entrypoint.sh agent &
agent=$!
stopping=0
trap 'stopping=1; kill -TERM "$agent" 2>/dev/null' TERM INT
CONSUL_HTTP_TOKEN=$(sed -n 's/^ *"initial_management": "\\([^"]*\\)".*/\\1/p' {shlex.quote(CONSUL_AGENT_CONFIG_PATH)})
export CONSUL_HTTP_TOKEN
until curl -fsS http://127.0.0.1:{CONSUL_HTTP_PORT}/v1/status/leader 2>/dev/null | grep -q ':8300'; do
  kill -0 "$agent" 2>/dev/null || break
  sleep 1
done
if kill -0 "$agent" 2>/dev/null && ! grep -qs '"agent"' "${{CONSUL_DATA_DIR:-{CONSUL_DATA_DIR}}}/acl-tokens.json"; then
  secret=$({create} | sed -n 's/^ *"SecretID": "\\([^"]*\\)".*/\\1/p')
  [ -n "$secret" ] && consul acl set-agent-token agent "$secret"
fi
unset CONSUL_HTTP_TOKEN
wait "$agent"
status=$?
if [ "$stopping" = 1 ]; then
  wait "$agent"
  status=$?
fi
exit "$status"
"""


@dataclass(frozen=True)
class EsmConfig:
    """consul-esm, agentless: it talks to the server over HTTP and registers itself in the catalog."""

    token: str
    http_addr: str = CATALOG[CONSUL].mesh_address()
    datacenter: str = "dc1"
    client_address: str = f"0.0.0.0:{ESM_METRICS_PORT}"
    """Where /metrics listens: every interface of the container, so the mesh network reaches it."""
    consul_service: str = ESM_COORDINATION_SERVICE
    # no `instance_id`: consul-esm v0.10.0 refuses to start while the catalog still holds its id (agent.go
    # registerCatalog -> alreadyExistsError -> main.go exits), which a killed or replaced instance leaves behind; its
    # default is a fresh UUID per start, the ACL below is prefix-based, and the leader hands work only to passing instances
    kv_path: str = ESM_KV_PATH
    prometheus_retention_time: str = "60s"
    """consul-esm serves /metrics only when this is at least 1s."""
    node_reconnect_timeout: str = "87600h"
    """consul-esm deletes an external node (and every service on it) whose probe failed this long; the
    default 72h would let a host that drops pings lose its whole catalog, so ten years stands for never."""


def render_esm_config(config: EsmConfig) -> str:
    """consul-esm's config as JSON (it parses `.json` and `.hcl` files with HCL, rejecting unknown keys)."""
    document = {
        "log_level": "INFO",
        "enable_agentless": True,
        "consul_service": config.consul_service,
        "consul_kv_path": config.kv_path,
        "external_node_meta": {"external-node": EXTERNAL_NODE_META["external-node"]},
        "http_addr": config.http_addr,
        "token": config.token,
        "datacenter": config.datacenter,
        "client_address": config.client_address,
        "ping_type": "udp",
        "node_reconnect_timeout": config.node_reconnect_timeout,
        "telemetry": {"prometheus_retention_time": config.prometheus_retention_time, "disable_hostname": True},
    }
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


@dataclass(frozen=True)
class AclRule:
    """One rule of an ACL policy: `resource "segment" { policy = "verb" }` (or `operator = "verb"`)."""

    resource: str
    segment: str | None
    policy: PolicyVerb


@dataclass(frozen=True)
class AclPolicy:
    name: str
    description: str
    rules: tuple[AclRule, ...] = field(default=())

    def render(self) -> str:
        """The rules in Consul's HCL rule language."""
        lines = []
        for rule in self.rules:
            if rule.segment is None:
                lines.append(f'{rule.resource} = "{rule.policy}"')
            else:
                lines.append(f'{rule.resource} {json.dumps(rule.segment)} {{\n  policy = "{rule.policy}"\n}}')
        return "\n".join(lines) + "\n"


def esm_policy(external_node: str, service_names: Iterable[str], kv_path: str = ESM_KV_PATH) -> AclPolicy:
    """consul-esm's rights, the README's fine-grained policy: write only the external node, the services on it,
    its KV prefix and its own catalog entries (agentless: node `<consul_service>:<instance_id>:node`, a new
    instance id at every start), and read the servers' `consul` service for its version check."""
    own_prefix = f"{ESM_COORDINATION_SERVICE}:"
    rules = [
        AclRule("agent", CONSUL_NODE_NAME, "read"),  # version compatibility check
        AclRule("operator", None, "read"),
        AclRule("key_prefix", kv_path, "write"),  # assigned checks and the leader lock
        AclRule("node_prefix", "", "read"),  # find the external nodes
        AclRule("node", external_node, "write"),  # its probe check and coordinates
        AclRule("node_prefix", own_prefix, "write"),  # its own agentless node
        AclRule("session", CONSUL_NODE_NAME, "write"),  # the leader lock's session (created on the server's node)
        AclRule("session_prefix", own_prefix, "write"),  # its liveness session on its own node
        AclRule("service", ESM_COORDINATION_SERVICE, "write"),
    ]
    # updating a service's check status needs write on that service
    names = sorted(set(service_names))
    rules += [AclRule("service", name, "write") for name in names]
    if CONSUL_SERVICE_NAME not in names:
        # its start-up version check lists the servers' `consul` service (agent.go VerifyConsulCompatibility)
        rules.append(AclRule("service", CONSUL_SERVICE_NAME, "read"))
    return AclPolicy("consul-esm", "consul-esm: run the checks of the external node's services", tuple(rules))


def prometheus_policy() -> AclPolicy:
    """What `consul_sd_configs` and the agent metrics endpoint need: read services, nodes and the one server agent
    it scrapes (`agent "<node>"`, not every agent: `agent_prefix ""` would also read any agent that joins)."""
    return AclPolicy(
        "prometheus",
        "Prometheus: discover services and scrape Consul's own metrics",
        (AclRule("service_prefix", "", "read"), AclRule("node_prefix", "", "read"), AclRule("agent", CONSUL_NODE_NAME, "read")),
    )


def consul_exporter_policy() -> AclPolicy:
    """consul_exporter reads the catalog and every check's state (/v1/catalog/services, /v1/health/state/any); its
    /v1/status calls need no token. No agent rights."""
    return AclPolicy(
        CONSUL_EXPORTER,
        "consul-exporter: read services, nodes and their health",
        (AclRule("service_prefix", "", "read"), AclRule("node_prefix", "", "read")),
    )


def backend_policy() -> AclPolicy:
    """The backend looks services and their health up, nothing more."""
    return AclPolicy(
        "backend",
        "Backend API: look up services and their health",
        (AclRule("service_prefix", "", "read"), AclRule("node_prefix", "", "read")),
    )


@dataclass(frozen=True)
class CheckDefinition:
    """An endpoint's health check as consul-esm runs it from the mesh network."""

    check_id: str
    name: str
    kind: Literal["http", "tcp"]
    target: str
    """`http://<alias>:<port><path>` or `<alias>:<port>`."""
    interval: str = CHECK_INTERVAL
    timeout: str = CHECK_TIMEOUT
    deregister_critical_service_after: str = DEREGISTER_CRITICAL_AFTER


def check_definition(endpoint: Endpoint) -> CheckDefinition | None:
    """The check of one instance, by its alias on the mesh network; None when the catalog declares none."""
    check = endpoint.check
    if check is None:
        return None
    host_port = f"{endpoint.address}:{check.port}"
    target = f"http://{host_port}{check.path or '/'}" if check.kind == "http" else host_port
    return CheckDefinition(
        check_id=f"service:{endpoint.instance}",
        name=f"{endpoint.instance} {check.kind.upper()} on {target}",
        kind=check.kind,
        target=target,
    )


def service_tags(endpoint: Endpoint) -> list[str]:
    """`metrics` marks what Prometheus's Consul discovery keeps; the category groups services."""
    tags = [endpoint.category, endpoint.kind]
    if endpoint.metrics is not None:
        tags.append("metrics")
    if endpoint.blackbox:
        tags.append("blackbox")
    return list(dict.fromkeys(tags))


def service_meta(endpoint: Endpoint) -> dict[str, str]:
    """Service meta Prometheus relabels on (`__meta_consul_service_metadata_<key>`)."""
    meta = {"category": endpoint.category, "kind": endpoint.kind, "instance": endpoint.instance}
    if endpoint.metrics is not None:
        # Prometheus takes the path and the URL parameters apart (`__metrics_path__`, `__param_<name>`)
        path = urlsplit(endpoint.metrics.path)
        meta["metrics_path"] = path.path
        meta["metrics_port"] = str(endpoint.metrics.port)
        meta.update({f"metrics_param_{name}": value for name, value in parse_qsl(path.query)})
    return meta


def consul_bind_template(subnet: str) -> str:
    """go-sockaddr template: a swarm task's address on the mesh overlay (a task also has docker_gwbridge's)."""
    return f'{{{{ GetAllInterfaces | include "network" "{subnet}" | attr "address" }}}}'


def swarm_consul_config(token: str, datacenter: str, servers: int, subnet: str) -> str:
    """The config every Consul server of a swarm shares: they find each other through the swarm's DNS."""
    return render_consul_agent_config(
        ConsulAgentConfig(
            management_token=token,
            datacenter=datacenter,
            # each server names its node after its task's hostname (`consul-<node>`), stable across restarts
            node_name=None,
            bootstrap_expect=servers,
            # `consul` resolves (dnsrr) to every server task; Consul retries until all of them answer
            retry_join=(CONSUL,),
            bind_addr=consul_bind_template(subnet),
        )
    )
