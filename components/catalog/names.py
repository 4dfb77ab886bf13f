"""The names of the catalog services that other code refers to by name, one constant each.

A service name is also its DNS alias on the mesh network, its Consul service name and its Kong upstream
prefix. Code that singles a service out imports its name from here; `tests/test_catalog_source.py` checks
that each one names a catalog entry, so renaming an entry cannot leave a stale copy behind. Pure: no Pulumi.
"""

from __future__ import annotations

POSTGRES = "postgres"
REDIS = "redis"
NEO4J = "neo4j"
RABBITMQ = "rabbitmq"
CONSUL = "consul"
CONSUL_ESM = "consul-esm"
KONG = "kong"
BACKEND = "backend"
PROMETHEUS = "prometheus"
GRAFANA = "grafana"
LOKI = "loki"
ALERTMANAGER = "alertmanager"
BLACKBOX_EXPORTER = "blackbox-exporter"
JAEGER = "jaeger"
POSTGRES_EXPORTER = "postgres-exporter"
REDIS_EXPORTER = "redis-exporter"
CONSUL_EXPORTER = "consul-exporter"
QDRANT = "qdrant"
ALLOY = "alloy"
CADVISOR = "cadvisor"
NODE_EXPORTER = "node-exporter"
DOCKER_SOCKET_PROXY = "docker-socket-proxy"

NAMED_SERVICES = (
    POSTGRES,
    REDIS,
    NEO4J,
    RABBITMQ,
    CONSUL,
    CONSUL_ESM,
    KONG,
    BACKEND,
    PROMETHEUS,
    GRAFANA,
    LOKI,
    ALERTMANAGER,
    BLACKBOX_EXPORTER,
    JAEGER,
    QDRANT,
    ALLOY,
    CADVISOR,
    NODE_EXPORTER,
    DOCKER_SOCKET_PROXY,
    POSTGRES_EXPORTER,
    REDIS_EXPORTER,
    CONSUL_EXPORTER,
)
