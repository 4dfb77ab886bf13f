"""`ServiceDiscovery`: every endpoint of the mesh registered in Consul, with checks consul-esm runs.

A `pulumi_consul` provider (stable config: the API address and the management token, after the Consul
container is healthy) registers an external node for the host and one `consul.Service` per endpoint,
and creates the ACL policies and tokens consul-esm, Prometheus and the backend use.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_consul as consul

from components.catalog.endpoint import Endpoint
from components.render.consul import (
    EXTERNAL_NODE_ADDRESS,
    EXTERNAL_NODE_META,
    EXTERNAL_NODE_NAME,
    AclPolicy,
    backend_policy,
    check_definition,
    esm_policy,
    prometheus_policy,
    service_meta,
    service_tags,
)


@dataclass(frozen=True)
class ServiceDiscoveryArgs:
    endpoints: Sequence[Endpoint]
    """Every instance to register (host-level services, replicas and MCP servers alike)."""
    consul_container: pulumi.Resource
    """The Consul server; the provider talks to it only once it is healthy."""
    management_token: pulumi.Input[str]
    """The server's initial management token (secret)."""
    api_scheme: str
    api_address: str
    """`host:port` of Consul's HTTP API as seen from where `pulumi up` runs."""
    datacenter: str = "dc1"


@dataclass(frozen=True)
class RegisteredService:
    """One registered instance, as the stack output lists it."""

    service: str
    service_id: str
    address: str
    port: int
    check: str | None


TYPE_TOKEN = "service-mesh:discovery:ServiceDiscovery"
"""Part of the URN of every resource below it: changing it makes `pulumi up` replace them all."""


class ServiceDiscovery(pulumi.ComponentResource):
    provider: consul.Provider
    node: consul.Node
    services: dict[str, consul.Service]
    """By service id (= endpoint instance)."""
    registrations: list[RegisteredService]
    esm_token: pulumi.Output[str]
    prometheus_token: pulumi.Output[str]
    backend_token: pulumi.Output[str]
    management_token: pulumi.Output[str]

    def __init__(self, name: str, args: ServiceDiscoveryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        self.management_token = pulumi.Output.secret(args.management_token)
        self.provider = consul.Provider(
            f"{name}-consul",
            address=args.api_address,
            scheme=args.api_scheme,
            datacenter=args.datacenter,
            token=self.management_token,
            # the container is health-gated (`wait=True`), so the API answers with a leader when this is used
            opts=pulumi.ResourceOptions(parent=self, depends_on=[args.consul_container]),
        )
        managed = pulumi.ResourceOptions(parent=self, provider=self.provider)

        service_names = [endpoint.service for endpoint in args.endpoints]
        self.esm_token = self._token(name, esm_policy(EXTERNAL_NODE_NAME, service_names), args.datacenter, managed)
        self.prometheus_token = self._token(name, prometheus_policy(), args.datacenter, managed)
        self.backend_token = self._token(name, backend_policy(), args.datacenter, managed)

        self.node = consul.Node(
            f"{name}-node",
            name=EXTERNAL_NODE_NAME,
            address=EXTERNAL_NODE_ADDRESS,
            datacenter=args.datacenter,
            meta=dict(EXTERNAL_NODE_META),
            opts=managed,
        )

        self.services = {}
        self.registrations = []
        for endpoint in args.endpoints:
            definition = check_definition(endpoint)
            checks = []
            if definition is not None:
                checks.append(
                    consul.ServiceCheckArgs(
                        check_id=definition.check_id,
                        name=definition.name,
                        http=definition.target if definition.kind == "http" else None,
                        tcp=definition.target if definition.kind == "tcp" else None,
                        interval=definition.interval,
                        timeout=definition.timeout,
                        deregister_critical_service_after=definition.deregister_critical_service_after,
                        # no `status`: Consul starts a new check critical anyway, and a status input would set every
                        # check back to critical on the first `up` after a refresh has read `passing`
                    )
                )
            self.services[endpoint.instance] = consul.Service(
                # named after the instance, like its container: disabling a service removes everything named after it
                f"{endpoint.instance}-registration",
                name=endpoint.service,
                service_id=endpoint.instance,
                node=self.node.name,
                datacenter=args.datacenter,
                address=endpoint.address,
                port=endpoint.port,
                tags=service_tags(endpoint),
                meta=service_meta(endpoint),
                checks=checks or None,
                opts=managed,
            )
            self.registrations.append(
                RegisteredService(
                    service=endpoint.service,
                    service_id=endpoint.instance,
                    address=endpoint.address,
                    port=endpoint.port,
                    check=definition.target if definition is not None else None,
                )
            )

        self.register_outputs(
            {
                "node": self.node.name,
                "services": [registration.service_id for registration in self.registrations],
                "prometheus_token": self.prometheus_token,
                "backend_token": self.backend_token,
            }
        )

    def _token(self, name: str, policy: AclPolicy, datacenter: str, managed: pulumi.ResourceOptions) -> pulumi.Output[str]:
        """A policy, a token bound to it, and the token's secret id (read back through the provider)."""
        acl_policy = consul.AclPolicy(
            f"{name}-{policy.name}-policy",
            name=policy.name,
            description=policy.description,
            rules=policy.render(),
            datacenters=[datacenter],
            opts=managed,
        )
        token = consul.AclToken(
            f"{name}-{policy.name}-token",
            description=policy.description,
            policies=[acl_policy.name],
            opts=managed,
        )
        secret = consul.get_acl_token_secret_id_output(
            accessor_id=token.accessor_id,
            opts=pulumi.InvokeOutputOptions(parent=self, provider=self.provider),
        )
        return pulumi.Output.secret(secret.secret_id)
