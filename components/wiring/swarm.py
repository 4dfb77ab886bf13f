"""Wiring that differs on a swarm: Consul as a cluster of servers that find each other through the swarm's DNS.

Everything else reuses the docker platform's wiring (`components.stack.mesh.WIRING`); `SwarmService` turns its
environment and files into swarm secrets and configs.
"""

from __future__ import annotations

import pulumi

from components.plan.swarm import SwarmPlan
from components.render.consul import CONSUL_AGENT_CONFIG_PATH, CONSUL_ALIAS, ConsulAgentConfig, render_consul_agent_config
from components.wiring.datastores import Wiring, WiringContext, upload


def consul_bind_template(subnet: str) -> str:
    """go-sockaddr template: the task's address on the mesh overlay (a task also has docker_gwbridge's)."""
    return f'{{{{ GetAllInterfaces | include "network" "{subnet}" | attr "address" }}}}'


def swarm_consul_config(token: str, datacenter: str, servers: int, subnet: str) -> str:
    return render_consul_agent_config(
        ConsulAgentConfig(
            management_token=token,
            datacenter=datacenter,
            # each server names its node after the task's hostname (`consul-<node>`), stable across restarts
            node_name=None,
            bootstrap_expect=servers,
            # `consul` resolves (dnsrr) to every server task; Consul retries until all of them answer
            retry_join=(CONSUL_ALIAS,),
            bind_addr=consul_bind_template(subnet),
        )
    )


def swarm_consul(context: WiringContext, swarm: SwarmPlan) -> Wiring:
    datacenter = context.config.discovery.datacenter
    servers = swarm.service(CONSUL_ALIAS).replicas or 1
    agent_config: pulumi.Output[str] = pulumi.Output.secret(
        context.credentials.consul_management_token.apply(lambda token: swarm_consul_config(token, datacenter, servers, swarm.subnet))
    )
    return Wiring(uploads=[upload(CONSUL_AGENT_CONFIG_PATH, agent_config)], rendered={"consul/mesh.json": agent_config})
