"""Resource type tokens, defined once for everything that reads a capture: tests, `make plan`, the bench.

Provider tokens are `<package>:<module>/<name>:<Type>` as the provider schemas spell them; a provider
instance is `pulumi:providers:<package>`. The project's own component tokens are each defined by their
module (`TYPE_TOKEN`) and pinned byte for byte in `tests/test_layers.py`.
"""

from __future__ import annotations

from components.resources import (
    backend_image,
    credentials,
    database_roles,
    discovery,
    grafana,
    mcp_server,
    network,
    orchestrator,
    service,
    swarm_service,
)
from components.stack import mesh, swarm

SERVICE_MESH = mesh.TYPE_TOKEN
MESH_NETWORKS = network.TYPE_TOKEN
MESH_CREDENTIALS = credentials.TYPE_TOKEN
MESH_SERVICE = service.TYPE_TOKEN
SERVICE_DISCOVERY = discovery.TYPE_TOKEN
GRAFANA_STACK = grafana.TYPE_TOKEN
MCP_ORCHESTRATOR = orchestrator.TYPE_TOKEN
MCP_SERVER = mcp_server.TYPE_TOKEN
BACKEND_IMAGE = backend_image.TYPE_TOKEN
DATABASE_ROLES = database_roles.TYPE_TOKEN
COMPONENTS = (
    SERVICE_MESH,
    MESH_NETWORKS,
    MESH_CREDENTIALS,
    MESH_SERVICE,
    SERVICE_DISCOVERY,
    GRAFANA_STACK,
    MCP_ORCHESTRATOR,
    MCP_SERVER,
    BACKEND_IMAGE,
    DATABASE_ROLES,
)
SWARM_MESH = swarm.TYPE_TOKEN
SWARM_SERVICE = swarm_service.TYPE_TOKEN
SWARM_COMPONENTS = (SWARM_MESH, SWARM_SERVICE)
"""What `mesh:platform: swarm` registers instead of `ServiceMesh` and `MeshService`."""

CONTAINER = "docker:index/container:Container"
VOLUME = "docker:index/volume:Volume"
NETWORK = "docker:index/network:Network"
REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage"
IMAGE = "docker:index/image:Image"
"""An image built from source (the backend)."""
DOCKER_PROVIDER = "pulumi:providers:docker"
SERVICE = "docker:index/service:Service"
"""A swarm service."""
SECRET = "docker:index/secret:Secret"
SERVICE_CONFIG = "docker:index/serviceConfig:ServiceConfig"

CONSUL_SERVICE = "consul:index/service:Service"
CONSUL_NODE = "consul:index/node:Node"
ACL_POLICY = "consul:index/aclPolicy:AclPolicy"
ACL_TOKEN = "consul:index/aclToken:AclToken"
CONSUL_PROVIDER = "pulumi:providers:consul"

GRAFANA_DATASOURCE = "grafana:oss/dataSource:DataSource"
GRAFANA_FOLDER = "grafana:oss/folder:Folder"
GRAFANA_DASHBOARD = "grafana:oss/dashboard:Dashboard"
GRAFANA_PROVIDER = "pulumi:providers:grafana"

RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword"
RANDOM_BYTES = "random:index/randomBytes:RandomBytes"
RANDOM_STRING = "random:index/randomString:RandomString"
RANDOM_UUID = "random:index/randomUuid:RandomUuid"

TLS_PRIVATE_KEY = "tls:index/privateKey:PrivateKey"
TLS_SELF_SIGNED_CERT = "tls:index/selfSignedCert:SelfSignedCert"
TLS_LOCALLY_SIGNED_CERT = "tls:index/locallySignedCert:LocallySignedCert"
TLS_CERT_REQUEST = "tls:index/certRequest:CertRequest"
