"""Wiring of the Consul server and consul-esm: their rendered configs, with the tokens as secrets."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi

from components.catalog.names import CONSUL, CONSUL_ESM
from components.render.consul import (
    CONSUL_AGENT_CONFIG_PATH,
    CONSUL_NODE_NAME,
    ESM_CONFIG_PATH,
    EXTERNAL_NODE_ADDRESS,
    ConsulAgentConfig,
    EsmConfig,
    render_consul_agent_config,
    render_consul_start_script,
    render_esm_config,
    swarm_consul_config,
)
from components.wiring.base import Need, ServiceWiring, Wiring, WiringContext, upload


def consul(context: WiringContext) -> Wiring:
    datacenter = context.config.discovery.datacenter
    swarm = context.plan.swarm
    agent_config: pulumi.Output[str] = pulumi.Output.secret(
        context.credentials.consul_management_token.apply(
            lambda token: (
                render_consul_agent_config(ConsulAgentConfig(management_token=token, datacenter=datacenter))
                if swarm is None
                else swarm_consul_config(token, datacenter, swarm.service(CONSUL).replicas or 1, swarm.subnet)
            )
        )
    )
    return Wiring(
        uploads=[upload(CONSUL_AGENT_CONFIG_PATH, agent_config)],
        rendered={"consul/mesh.json": agent_config},
        # the image's start plus the server's own agent token (node identity), set once a leader exists
        command=["sh", "-c", render_consul_start_script(node_name=None if swarm is not None else CONSUL_NODE_NAME, datacenter=datacenter)],
    )


def consul_esm(context: WiringContext) -> Wiring:
    discovery = context.discovery
    # the catalog makes consul-esm need consul, so the plan never deploys it alone
    assert discovery is not None, "consul-esm is deployed without Consul"
    datacenter = context.config.discovery.datacenter
    esm_config: pulumi.Output[str] = pulumi.Output.secret(
        discovery.esm_token.apply(lambda token: render_esm_config(EsmConfig(token=token, datacenter=datacenter)))
    )
    return Wiring(
        uploads=[upload(ESM_CONFIG_PATH, esm_config)],
        rendered={"consul-esm/consul-esm.json": esm_config},
        # the external node's address: consul-esm pings the Docker host through Docker's host gateway
        extra_hosts={EXTERNAL_NODE_ADDRESS: "host-gateway"},
    )


DISCOVERY_WIRING: Mapping[str, ServiceWiring] = {
    CONSUL: ServiceWiring(consul, frozenset({Need.CREDENTIALS})),
    # consul-esm runs the checks with its own token
    CONSUL_ESM: ServiceWiring(consul_esm, frozenset({Need.DISCOVERY})),
}
