"""Wiring of the Consul server and consul-esm: their rendered configs, with the tokens as secrets.

`NEEDS_DISCOVERY` names the services whose wiring reads a token of `ServiceDiscovery`; `ServiceMesh`
deploys them (and whatever depends on them) after discovery exists.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pulumi

from components.render.consul import (
    CONSUL_AGENT_CONFIG_PATH,
    ESM_CONFIG_PATH,
    EXTERNAL_NODE_ADDRESS,
    ConsulAgentConfig,
    EsmConfig,
    render_consul_agent_config,
    render_esm_config,
)
from components.wiring.datastores import Wiring, WiringContext, upload

NEEDS_DISCOVERY = frozenset({"consul-esm", "prometheus", "consul-exporter", "backend"})
"""consul-esm runs the checks with its token; Prometheus (consul_sd), consul-exporter and the backend read the catalog."""


def consul(context: WiringContext) -> Wiring:
    datacenter = context.config.discovery.datacenter
    agent_config: pulumi.Output[str] = pulumi.Output.secret(
        context.credentials.consul_management_token.apply(
            lambda token: render_consul_agent_config(ConsulAgentConfig(management_token=token, datacenter=datacenter))
        )
    )
    return Wiring(uploads=[upload(CONSUL_AGENT_CONFIG_PATH, agent_config)], rendered={"consul/mesh.json": agent_config})


def consul_esm(context: WiringContext) -> Wiring:
    if context.discovery is None:
        raise RuntimeError("consul-esm is wired after ServiceDiscovery (it depends on consul)")
    datacenter = context.config.discovery.datacenter
    esm_config: pulumi.Output[str] = pulumi.Output.secret(
        context.discovery.esm_token.apply(lambda token: render_esm_config(EsmConfig(token=token, datacenter=datacenter)))
    )
    return Wiring(
        uploads=[upload(ESM_CONFIG_PATH, esm_config)],
        rendered={"consul-esm/consul-esm.json": esm_config},
        # the external node's address: consul-esm pings the Docker host through Docker's host gateway
        extra_hosts={EXTERNAL_NODE_ADDRESS: "host-gateway"},
    )


DISCOVERY_WIRING: Mapping[str, Callable[[WiringContext], Wiring]] = {"consul": consul, "consul-esm": consul_esm}
