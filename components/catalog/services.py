"""The catalog: every service of the mesh declared once, as plain typed data.

Containers, volumes, labels, healthchecks and (in later modules) Consul registrations, Kong routes,
scrape jobs and policy expectations are all derived from these entries. Adding a host-level
service is one `ServiceSpec` here. This module imports no Pulumi.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ProbeTool = Literal["curl", "wget", "bash", "python", "pg_isready", "redis-cli", "rabbitmq-diagnostics", "docker", "ollama", "node"]


@dataclass(frozen=True)
class Port:
    """A port the container listens on; `host` is its default published port (None: mesh network only)."""

    internal: int
    host: int | None = None
    name: str = "http"


@dataclass(frozen=True)
class Probe:
    """The container healthcheck. `tool` records which program of the image runs it."""

    test: tuple[str, ...]
    tool: ProbeTool
    interval_s: int = 10
    timeout_s: int = 5
    retries: int = 6
    start_period_s: int = 30


@dataclass(frozen=True)
class Check:
    """How discovery checks the service from outside its container (by its mesh alias)."""

    kind: Literal["http", "tcp"]
    port: int
    path: str = ""


@dataclass(frozen=True)
class Metrics:
    """A Prometheus endpoint the service exposes itself."""

    port: int
    path: str = "/metrics"


@dataclass(frozen=True)
class DataVolume:
    """A named volume that outlives the container (`retain_on_delete`)."""

    name: str
    container_path: str


@dataclass(frozen=True)
class HostMount:
    """A host path mounted read-only (exporters reading /proc, /sys, the Docker socket...)."""

    host_path: str
    container_path: str


# Docker refuses uploads into a read-only root filesystem (moby daemon/archive_unix.go checkWritablePath):
# a service whose rendered config is uploaded at create keeps a writable root until its config moves to a volume
UPLOADED_CONFIG = "its rendered config is uploaded at create, and Docker refuses uploads into a read-only root"
# docker-library entrypoints (postgres, redis, rabbitmq, neo4j; consul's own) start as root, chown the data
# volume and re-exec as the service user with gosu/su-exec: that takes these capabilities and nothing more
ENTRYPOINT_DROPS_ROOT = ("CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_SETGID", "CAP_SETUID")
ENTRYPOINT_ROOT_REASON = "the image's entrypoint starts as root to chown its data volume, then runs the server as {user}"

DOCKER_SOCKET = "/var/run/docker.sock"
DOCKER_SOCKET_PROXY_PORT = 2390
"""The socket proxy's port on its internal network (not 2375: nothing here is the whole, plaintext Docker API)."""
DOCKER_API_URL = f"tcp://docker-socket-proxy:{DOCKER_SOCKET_PROXY_PORT}"
"""How the proxy's clients (`docker_api="client"`) reach the Docker API on the docker platform."""


@dataclass(frozen=True)
class Hardening:
    """Least privilege of a container: every capability dropped but `capabilities`, a read-only root with
    tmpfs at `writable_paths`, the `ServiceSpec.user`. Each exception carries its reason (labels, policy pack)."""

    capabilities: tuple[str, ...] = ()
    """Added back after `drop ALL`, in Docker's canonical form (`CAP_CHOWN`)."""
    capabilities_reason: str | None = None
    default_capabilities_reason: str | None = None
    """Set: keep Docker's default capability set (nothing dropped), for this reason."""
    writable_paths: tuple[str, ...] = ("/tmp",)
    """tmpfs mounts on the read-only root (data lives on the service's volumes)."""
    writable_root_reason: str | None = None
    """Set: the root filesystem stays writable, for this reason."""
    root_reason: str | None = None
    """Set: the container starts as root, for this reason."""
    masked_paths: tuple[str, ...] = ()
    """Empty read-only tmpfs over these paths of a host mount, so the container cannot reach what the host keeps
    there (the Docker socket under `/rootfs/run`). Containers only: on a swarm the node agents mount the socket."""


def entrypoint_drops_root(user: str, **more: object) -> Hardening:
    """A docker-library style image: root only long enough to chown the volume, then `user`."""
    return Hardening(
        capabilities=ENTRYPOINT_DROPS_ROOT,
        capabilities_reason=f"chown of the data volume and the switch to {user}",
        root_reason=ENTRYPOINT_ROOT_REASON.format(user=user),
        **more,  # type: ignore[arg-type]
    )


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    kind: str
    """What the service is, for people: database, mesh, messaging, core, monitoring, ai, orchestration."""
    category: str
    """Which host port range its published ports must fall in (a key of `portRanges`)."""
    image: str
    ports: tuple[Port, ...]
    probe: Probe
    check: Check | None
    metrics: Metrics | None = None
    blackbox: bool = False
    """No metrics of its own: Prometheus probes it through the blackbox exporter."""
    volumes: tuple[DataVolume, ...] = ()
    host_mounts: tuple[HostMount, ...] = ()
    command: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    memory_mb: int = 512
    cpus: float | None = 1.0
    """CPU limit (None: none); at most 1 by default, so no default exceeds the smallest host."""
    replicable: bool = False
    """Stateless: may run several replicas behind its shared alias."""
    enabled: bool = True
    privileged: bool = False
    user: str | None = None
    """The user the container starts as (the image's own non-root user, stated); None: root (see hardening)."""
    hardening: Hardening = field(default_factory=Hardening)
    hostname: str | None = None
    """Fixed hostname, where it names the service's data (RabbitMQ's node and data directory): never the container id."""
    stop_signal: str | None = None
    """The signal that stops it cleanly (None: the image's STOPSIGNAL, else SIGTERM)."""
    stop_grace_s: int = 0
    """Seconds a stop (a replacement, `pulumi destroy`, a daemon restart) waits before SIGKILL; 0: killed at once."""
    needs: tuple[str, ...] = field(default=())
    """Services without which this one is pointless (config refuses to disable them alone)."""
    starts_after: tuple[str, ...] = field(default=())
    """Services whose containers must be healthy first, because this one's healthcheck cannot pass before."""
    docker_api: Literal["proxy", "client"] | None = None
    """`proxy`: the Docker socket proxy, alone on the internal Docker API network (not on the mesh network, not an
    endpoint); `client`: reads the Docker API through it (`DOCKER_API_URL`), on both networks. On a swarm the
    proxy is not deployed and its clients mount the node's socket read-only (components.plan.services)."""

    @property
    def published_ports(self) -> tuple[Port, ...]:
        return tuple(port for port in self.ports if port.host is not None)

    @property
    def main_port(self) -> Port:
        """The first port: the one discovery checks, Kong routes to and Prometheus finds the service on."""
        return self.ports[0]

    def port(self, name: str) -> Port:
        """The port of that name (`CATALOG["kong"].port("admin")`)."""
        for port in self.ports:
            if port.name == name:
                return port
        raise KeyError(f"{self.name} has no port named {name!r} (ports: {', '.join(port.name for port in self.ports)})")

    def mesh_address(self, port_name: str | None = None) -> str:
        """`<alias>:<port>` on the mesh network (the alias is the service name); the main port by default."""
        port = self.main_port if port_name is None else self.port(port_name)
        return f"{self.name}:{port.internal}"


def http_probe(tool: ProbeTool, port: int, path: str, **timing: int) -> Probe:
    """An HTTP GET healthcheck run inside the container with a tool the image really has."""
    url = f"http://127.0.0.1:{port}{path}"
    if tool == "curl":
        return Probe(("CMD", "curl", "-fsS", "-o", "/dev/null", url), tool, **timing)
    if tool == "wget":
        return Probe(("CMD", "wget", "-q", "-T", "4", "-O", "/dev/null", url), tool, **timing)
    if tool == "bash":
        return Probe(("CMD", "bash", "-c", bash_http_probe(port, path)), tool, **timing)
    if tool == "python":
        script = f"import sys,urllib.request; sys.exit(0 if urllib.request.urlopen({url!r}, timeout=4).status == 200 else 1)"
        return Probe(("CMD", "python", "-c", script), tool, **timing)
    raise ValueError(f"{tool} cannot make an HTTP probe")


def bash_http_probe(port: int, path: str) -> str:
    """GET over bash's /dev/tcp for images with neither curl nor wget; passes only on a 200 status line."""
    return (
        f"exec 3<>/dev/tcp/127.0.0.1/{port} && "
        f"printf 'GET {path} HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && "
        "IFS= read -r status <&3 && [[ $status == *' 200 '* ]]"
    )


# the catalog is data (image pins, ports, limits), checked by the policy pack and tests; `make mutate` mutates the probes above
def _catalog() -> tuple[ServiceSpec, ...]:  # pragma: no mutate block
    return (
        # --- databases (core range) ---
        ServiceSpec(
            name="postgres",
            kind="database",
            category="core",
            image="postgres:17.11-alpine",
            hardening=entrypoint_drops_root("postgres", writable_paths=("/tmp", "/var/run/postgresql")),
            ports=(Port(5432, 10000, "postgres"),),
            probe=Probe(("CMD-SHELL", 'pg_isready -U "$POSTGRES_USER" -d "$POSTGRES_DB"'), "pg_isready"),
            check=Check("tcp", 5432),
            volumes=(DataVolume("data", "/var/lib/postgresql/data"),),
            memory_mb=1024,
            hostname="postgres",
            # fast shutdown: open transactions roll back and a checkpoint is written (SIGTERM's smart mode waits for every
            # client to leave); a checkpoint of shared_buffers can take tens of seconds, a kill means WAL replay at start
            stop_signal="SIGINT",
            stop_grace_s=60,
        ),
        ServiceSpec(
            name="redis",
            kind="database",
            category="core",
            image="redis:8.2.9-alpine",
            hardening=entrypoint_drops_root("redis", writable_root_reason=UPLOADED_CONFIG),
            ports=(Port(6379, 10001, "redis"),),
            # redis-cli reads the password from REDISCLI_AUTH, so the probe authenticates
            probe=Probe(("CMD-SHELL", "redis-cli ping | grep -q PONG"), "redis-cli"),
            check=Check("tcp", 6379),
            volumes=(DataVolume("data", "/data"),),
            command=("redis-server", "/usr/local/etc/redis/redis.conf"),
            hostname="redis",
            # on SIGTERM Redis fsyncs the AOF and writes its final RDB snapshot before exiting
            stop_signal="SIGTERM",
            stop_grace_s=60,
        ),
        ServiceSpec(
            name="neo4j",
            kind="database",
            category="core",
            image="neo4j:5.26.29-community",
            hardening=entrypoint_drops_root(
                "neo4j", writable_root_reason="the entrypoint writes the NEO4J_* settings into /var/lib/neo4j/conf/neo4j.conf at start"
            ),
            ports=(Port(7474, 10002, "http"), Port(7687, 10003, "bolt")),
            # Debian-based image: bash is certain, wget is not promised across tags
            probe=http_probe("bash", 7474, "/", start_period_s=60),
            check=Check("http", 7474, "/"),
            blackbox=True,
            volumes=(DataVolume("data", "/data"), DataVolume("logs", "/logs")),
            env=(
                ("NEO4J_server_memory_heap_max__size", "1G"),
                ("NEO4J_server_memory_pagecache_size", "512M"),
            ),
            memory_mb=2048,
            hostname="neo4j",
            # a clean shutdown checkpoints the transaction log; killed, Neo4j runs recovery on the next start
            stop_signal="SIGTERM",
            stop_grace_s=120,
        ),
        # --- vector stores (ai range); neither image has curl or wget ---
        ServiceSpec(
            name="chromadb",
            kind="database",
            category="ai",
            image="chromadb/chroma:1.3.0",
            hardening=Hardening(
                root_reason="the image has no other user and its /data volume is root-owned",
                writable_root_reason="not yet shown on a real engine that the server writes nothing outside /data",
            ),
            ports=(Port(8000, 10100),),
            probe=http_probe("bash", 8000, "/api/v2/heartbeat"),
            check=Check("http", 8000, "/api/v2/heartbeat"),
            blackbox=True,
            volumes=(DataVolume("data", "/data"),),
            env=(("IS_PERSISTENT", "TRUE"), ("ANONYMIZED_TELEMETRY", "FALSE")),
            memory_mb=1024,
            hostname="chromadb",
            # SQLite and the HNSW segments are flushed on a clean exit
            stop_signal="SIGTERM",
            stop_grace_s=30,
        ),
        ServiceSpec(
            name="qdrant",
            kind="database",
            category="ai",
            image="qdrant/qdrant:v1.16.0",
            hardening=Hardening(
                root_reason="the image runs as root (the -unprivileged tag is another image) and /qdrant/storage is root-owned",
                writable_root_reason="Qdrant writes .qdrant-initialized and snapshots/ under /qdrant at start",
            ),
            ports=(Port(6333, 10101), Port(6334, 10102, "grpc")),
            probe=http_probe("bash", 6333, "/readyz"),
            check=Check("http", 6333, "/readyz"),
            metrics=Metrics(6333),
            volumes=(DataVolume("data", "/qdrant/storage"),),
            memory_mb=1024,
            hostname="qdrant",
            # flushes its WAL and segments on SIGTERM
            stop_signal="SIGTERM",
            stop_grace_s=30,
        ),
        # --- mesh ---
        ServiceSpec(
            name="consul",
            kind="mesh",
            category="core",
            image="hashicorp/consul:1.22.3",
            hardening=entrypoint_drops_root("consul", writable_root_reason=UPLOADED_CONFIG),
            ports=(Port(8500, 10006),),
            # healthy once a leader is elected (the endpoint answers `""` before): no token needed
            probe=Probe(("CMD-SHELL", "curl -fsS http://127.0.0.1:8500/v1/status/leader | grep -q ':8300'"), "curl"),
            check=Check("http", 8500, "/v1/status/leader"),
            metrics=Metrics(8500, "/v1/agent/metrics?format=prometheus"),
            volumes=(DataVolume("data", "/consul/data"),),
            # server, UI, ACLs and telemetry come from the rendered /consul/config/mesh.json (render/consul.py); the
            # wiring wraps this in a script that also gives the agent its token (render_consul_start_script)
            command=("agent",),
            hostname="consul",
            # closes Raft and its BoltDB cleanly (the node name is fixed in the rendered config: consul-server)
            stop_signal="SIGTERM",
            stop_grace_s=30,
        ),
        ServiceSpec(
            name="consul-esm",
            kind="mesh",
            category="core",
            image="hashicorp/consul-esm:0.10.0",
            user="100:1000",  # the image's own USER consul-esm (hashicorp/consul-esm v0.10.0 Dockerfile)
            hardening=Hardening(writable_root_reason=UPLOADED_CONFIG),
            ports=(Port(8080),),
            probe=http_probe("wget", 8080, "/metrics"),
            check=Check("http", 8080, "/metrics"),
            metrics=Metrics(8080),
            # server address, token and the /metrics listener come from the rendered config (consul_config.py)
            command=("-config-file=/etc/consul-esm.json",),
            memory_mb=128,
            needs=("consul",),
            starts_after=("consul",),
            # on SIGTERM/SIGINT it deregisters its own catalog entry (consul-esm v0.10.0 main.go handleSignals ->
            # agent.go Run: Catalog().Deregister); killed, the entry stays until its session check fails
            stop_signal="SIGTERM",
            stop_grace_s=15,
        ),
        ServiceSpec(
            name="kong",
            kind="mesh",
            category="core",
            image="kong:3.9.3",
            user="kong",  # the image's own USER kong
            hardening=Hardening(writable_root_reason=UPLOADED_CONFIG + "; Kong also renders its nginx prefix at start"),
            # the admin API (which can replace the whole configuration) listens on the container's loopback
            # only; readers use the read-only status listener (/status, /metrics, upstream health)
            ports=(Port(8000, 10005, "proxy"), Port(8100, 10015, "status")),
            probe=http_probe("bash", 8100, "/status/ready"),
            check=Check("http", 8100, "/status/ready"),
            metrics=Metrics(8100),
            env=(
                ("KONG_DATABASE", "off"),
                ("KONG_DECLARATIVE_CONFIG", "/kong/declarative/kong.yml"),
                ("KONG_PROXY_LISTEN", "0.0.0.0:8000"),
                ("KONG_ADMIN_LISTEN", "127.0.0.1:8001"),
                ("KONG_ADMIN_GUI_LISTEN", "off"),
                ("KONG_ANONYMOUS_REPORTS", "off"),
                ("KONG_STATUS_LISTEN", "0.0.0.0:8100"),
                ("KONG_PROXY_ACCESS_LOG", "/dev/stdout"),
                ("KONG_PROXY_ERROR_LOG", "/dev/stderr"),
                ("KONG_ADMIN_ACCESS_LOG", "/dev/stdout"),
                ("KONG_ADMIN_ERROR_LOG", "/dev/stderr"),
            ),
            memory_mb=1024,
        ),
        # --- messaging ---
        ServiceSpec(
            name="rabbitmq",
            kind="messaging",
            category="core",
            image="rabbitmq:4.2.9-management",
            hardening=entrypoint_drops_root("rabbitmq", writable_root_reason=UPLOADED_CONFIG),
            ports=(Port(5672, 10007, "amqp"), Port(15672, 10008, "management"), Port(15692, None, "prometheus")),
            probe=Probe(
                ("CMD", "rabbitmq-diagnostics", "-q", "check_port_connectivity"),
                "rabbitmq-diagnostics",
                interval_s=15,
                timeout_s=10,
                start_period_s=60,
            ),
            check=Check("tcp", 5672),
            metrics=Metrics(15692),
            volumes=(DataVolume("data", "/var/lib/rabbitmq"),),
            # the node name, stated: its data lives in /var/lib/rabbitmq/mnesia/rabbit@rabbitmq whatever the container id
            env=(("RABBITMQ_NODENAME", "rabbit@rabbitmq"),),
            memory_mb=1024,
            # RabbitMQ names its node and data directory after the hostname (rabbit@<hostname>); Docker's default hostname is
            # the container id, so a replaced container would start an empty node (docker-library/docs rabbitmq/content.md)
            hostname="rabbitmq",
            # a clean stop closes connections and syncs the message store and queue indices
            stop_signal="SIGTERM",
            stop_grace_s=60,
        ),
        # --- the reference backend API (built from backend/ by the stack) ---
        ServiceSpec(
            name="backend",
            kind="core",
            category="core",
            image="service-mesh/backend:0.1.0",
            user="10001",  # backend/Dockerfile USER 10001
            ports=(Port(8000, 10010),),
            probe=http_probe("python", 8000, "/health"),
            check=Check("http", 8000, "/health"),
            metrics=Metrics(8000),
            replicable=True,
        ),
        # --- monitoring ---
        ServiceSpec(
            name="prometheus",
            kind="monitoring",
            category="monitoring",
            image="prom/prometheus:v3.8.0",
            user="65534:65534",  # the image's own USER nobody
            hardening=Hardening(writable_root_reason=UPLOADED_CONFIG),
            ports=(Port(9090, 10200),),
            probe=http_probe("wget", 9090, "/-/healthy"),
            check=Check("http", 9090, "/-/healthy"),
            metrics=Metrics(9090),
            volumes=(DataVolume("data", "/prometheus"),),
            command=(
                "--config.file=/etc/prometheus/prometheus.yml",
                "--storage.tsdb.path=/prometheus",
                "--storage.tsdb.retention.time=15d",
            ),
            memory_mb=1024,
            hostname="prometheus",
            # closes the TSDB cleanly (the head is in the WAL either way; a kill costs a WAL replay at start)
            stop_signal="SIGTERM",
            stop_grace_s=60,
        ),
        ServiceSpec(
            name="grafana",
            kind="monitoring",
            category="monitoring",
            image="grafana/grafana:12.2.0",
            user="472:0",  # the image's own USER 472 (group root, as the image sets it)
            hardening=Hardening(writable_paths=("/tmp", "/var/log/grafana")),
            ports=(Port(3000, 10201),),
            probe=http_probe("curl", 3000, "/api/health"),
            check=Check("http", 3000, "/api/health"),
            metrics=Metrics(3000),
            volumes=(DataVolume("data", "/var/lib/grafana"),),
            hostname="grafana",
            stop_signal="SIGTERM",
            stop_grace_s=30,
        ),
        ServiceSpec(
            name="loki",
            kind="monitoring",
            category="monitoring",
            image="grafana/loki:3.5.0",
            user="10001",  # the image's own USER
            hardening=Hardening(writable_root_reason=UPLOADED_CONFIG),
            ports=(Port(3100, 10202),),
            probe=http_probe("wget", 3100, "/ready", start_period_s=45),
            check=Check("http", 3100, "/ready"),
            metrics=Metrics(3100),
            volumes=(DataVolume("data", "/loki"),),
            command=("-config.file=/etc/loki/local-config.yaml",),
            hostname="loki",
            # the ingester flushes and checkpoints its WAL on a clean shutdown; its ring entry is named after the hostname
            stop_signal="SIGTERM",
            stop_grace_s=60,
        ),
        ServiceSpec(
            name="alertmanager",
            kind="monitoring",
            category="monitoring",
            image="prom/alertmanager:v0.28.1",
            user="65534:65534",  # the image's own USER nobody
            hardening=Hardening(writable_root_reason=UPLOADED_CONFIG),
            ports=(Port(9093, 10203),),
            probe=http_probe("wget", 9093, "/-/ready"),
            check=Check("http", 9093, "/-/ready"),
            metrics=Metrics(9093),
            volumes=(DataVolume("data", "/alertmanager"),),
            memory_mb=256,
            hostname="alertmanager",
            # silences and the notification log are snapshotted to its volume on shutdown
            stop_signal="SIGTERM",
            stop_grace_s=15,
        ),
        ServiceSpec(
            name="blackbox-exporter",
            kind="monitoring",
            category="monitoring",
            image="prom/blackbox-exporter:v0.27.0",
            user="65534:65534",  # the image's own USER nobody
            hardening=Hardening(writable_root_reason=UPLOADED_CONFIG),
            ports=(Port(9115, 10204),),
            probe=http_probe("wget", 9115, "/-/healthy"),
            check=Check("http", 9115, "/-/healthy"),
            metrics=Metrics(9115),
            memory_mb=128,
            replicable=True,
        ),
        ServiceSpec(
            name="node-exporter",
            kind="monitoring",
            category="monitoring",
            image="prom/node-exporter:v1.9.1",
            user="65534:65534",  # the image's own USER nobody
            ports=(Port(9100, 10205),),
            probe=http_probe("wget", 9100, "/metrics"),
            check=Check("http", 9100, "/metrics"),
            metrics=Metrics(9100),
            host_mounts=(HostMount("/proc", "/host/proc"), HostMount("/sys", "/host/sys"), HostMount("/", "/rootfs")),
            command=("--path.procfs=/host/proc", "--path.sysfs=/host/sys", "--path.rootfs=/rootfs"),
            memory_mb=128,
        ),
        ServiceSpec(
            name="docker-socket-proxy",
            kind="monitoring",
            category="monitoring",
            # docker-library's official haproxy (library/haproxy: 3.4 is the LTS line); -alpine has busybox wget
            image="haproxy:3.4.3-alpine",
            # starts as root only to switch: the socket is root:docker 0660 and the docker group's id differs per host
            user="0:0",
            hardening=Hardening(
                capabilities=("CAP_SETGID", "CAP_SETUID"),
                capabilities_reason="HAProxy's switch to uid 99 and the socket's group before it serves; setuid() clears both",
                root_reason="it reads the Docker socket's group at start and HAProxy switches to uid 99 (the image's haproxy user) "
                "with that group before it serves: no root process and no capability remain",
            ),
            # GET /_ping through the proxy: healthy only when the daemon answers behind it
            ports=(Port(DOCKER_SOCKET_PROXY_PORT),),
            probe=http_probe("wget", DOCKER_SOCKET_PROXY_PORT, "/_ping"),
            check=None,
            host_mounts=(HostMount(DOCKER_SOCKET, DOCKER_SOCKET),),
            # the rendered haproxy.cfg arrives in $HAPROXY_CFG and is written to the tmpfs: an upload would need a writable root.
            # Its `gid "${DOCKER_SOCKET_GID}"` is the socket's group, read here. The image's docker-entrypoint.sh adds
            # `-W -db` only to a `haproxy` command and execs any other as given; no -W: a master process would stay root
            command=(
                "sh",
                "-c",
                f"DOCKER_SOCKET_GID=$(stat -c %g {DOCKER_SOCKET}) && export DOCKER_SOCKET_GID"
                " && printf '%s\\n' \"$HAPROXY_CFG\" > /tmp/haproxy.cfg && exec haproxy -db -f /tmp/haproxy.cfg",
            ),
            memory_mb=64,
            cpus=0.25,
            docker_api="proxy",
            # the image's STOPSIGNAL: a graceful stop (SIGTERM closes every connection at once)
            stop_signal="SIGUSR1",
            stop_grace_s=10,
        ),
        ServiceSpec(
            name="cadvisor",
            kind="monitoring",
            category="monitoring",
            image="gcr.io/cadvisor/cadvisor:v0.52.1",
            hardening=Hardening(
                root_reason="it reads every container's cgroups and /var/lib/docker, which only root may",
                default_capabilities_reason=(
                    "which capabilities its container and process metrics take depends on the host's cgroup version; not measured here"
                ),
                # the host's runtime sockets (docker.sock, containerd) live in /run (/var/run links there, or is the
                # directory on an old host); cAdvisor v0.52.1 reads /rootfs/proc, /rootfs/var/lib/docker and
                # /rootfs/etc/machine-id, nothing under /rootfs/run (its only /run path is its own containerd default)
                masked_paths=("/rootfs/run", "/rootfs/var/run"),
            ),
            ports=(Port(8080, 10206),),
            probe=http_probe("wget", 8080, "/healthz"),
            check=Check("http", 8080, "/healthz"),
            metrics=Metrics(8080),
            # no /var/run mount: the Docker API comes through the socket proxy; the socket file under the host's / is
            # masked (above)
            host_mounts=(
                HostMount("/", "/rootfs"),
                HostMount("/sys", "/sys"),
                HostMount("/var/lib/docker", "/var/lib/docker"),
                HostMount("/dev/disk", "/dev/disk"),
            ),
            # google/cadvisor container/docker/factory.go: --docker is the endpoint its Docker client dials
            # (client.go: dclient.WithHost); it calls /_ping, /info, /version and /containers/<id>/json
            command=(f"--docker={DOCKER_API_URL}",),
            memory_mb=256,
            docker_api="client",
            # cAdvisor registers its Docker factory once, at start: the proxy must answer by then
            needs=("docker-socket-proxy",),
            starts_after=("docker-socket-proxy",),
        ),
        ServiceSpec(
            name="postgres-exporter",
            kind="monitoring",
            category="monitoring",
            image="quay.io/prometheuscommunity/postgres-exporter:v0.18.1",
            user="65534:65534",  # the image's own USER nobody
            ports=(Port(9187, 10207),),
            probe=http_probe("wget", 9187, "/metrics"),
            check=Check("http", 9187, "/metrics"),
            metrics=Metrics(9187),
            memory_mb=128,
            needs=("postgres",),
        ),
        ServiceSpec(
            name="redis-exporter",
            kind="monitoring",
            category="monitoring",
            # the plain tag is FROM scratch (no shell for a healthcheck); -alpine has busybox wget
            image="oliver006/redis_exporter:v1.74.0-alpine",
            user="59000:59000",  # the image's own USER
            ports=(Port(9121, 10208),),
            probe=http_probe("wget", 9121, "/health"),
            check=Check("http", 9121, "/health"),
            metrics=Metrics(9121),
            memory_mb=128,
            needs=("redis",),
        ),
        ServiceSpec(
            name="consul-exporter",
            kind="monitoring",
            category="monitoring",
            # Consul's own metrics carry no per-check status; consul_exporter's consul_health_service_status does
            image="prom/consul-exporter:v0.13.0",
            user="65534:65534",  # the image's own USER nobody
            ports=(Port(9107, 10209),),
            probe=http_probe("wget", 9107, "/metrics"),
            check=Check("http", 9107, "/metrics"),
            metrics=Metrics(9107),
            command=("--consul.server=consul:8500",),
            memory_mb=128,
            # its /metrics answers (consul_up 0) while Consul is down, so it need not start after it
            needs=("consul",),
        ),
        ServiceSpec(
            name="jaeger",
            kind="monitoring",
            category="monitoring",
            image="jaegertracing/jaeger:2.13.0",
            user="10001",  # the image's own USER
            hardening=Hardening(writable_root_reason=UPLOADED_CONFIG),
            ports=(
                Port(16686, 10210, "ui"),
                Port(4317, 10214, "otlp-grpc"),
                Port(4318, 10215, "otlp-http"),
                Port(13133, None, "health"),
                Port(8888, None, "metrics"),
            ),
            probe=http_probe("wget", 13133, "/status"),
            check=Check("http", 13133, "/status"),
            metrics=Metrics(8888),
            command=("--config", "/etc/jaeger/config.yaml"),
            memory_mb=1024,
        ),
        ServiceSpec(
            name="alloy",
            kind="monitoring",
            category="monitoring",
            image="grafana/alloy:v1.10.0",
            hardening=Hardening(
                root_reason="the image's default user; its non-root alloy user is experimental upstream (grafana/alloy Dockerfile: "
                "'use at your own risk') and the data volume of an earlier run belongs to root",
                writable_root_reason=UPLOADED_CONFIG,
            ),
            ports=(Port(12345),),
            probe=http_probe("bash", 12345, "/-/ready"),
            check=Check("http", 12345, "/-/ready"),
            metrics=Metrics(12345),
            volumes=(DataVolume("data", "/var/lib/alloy/data"),),
            # no socket: it lists containers and reads their logs through the socket proxy (its config's host)
            docker_api="client",
            command=(
                "run",
                "--server.http.listen-addr=0.0.0.0:12345",
                "--storage.path=/var/lib/alloy/data",
                "/etc/alloy/config.alloy",
            ),
            needs=("loki", "docker-socket-proxy"),
            hostname="alloy",
            stop_signal="SIGTERM",
            stop_grace_s=15,
        ),
        # --- AI runtime, off unless enabled ---
        ServiceSpec(
            name="ollama",
            kind="ai",
            category="ai",
            image="ollama/ollama:0.12.6",
            hardening=Hardening(
                root_reason="the image runs as root and keeps its models under /root/.ollama",
                writable_root_reason="it extracts its runner binaries to a temporary directory and executes them",
            ),
            ports=(Port(11434, 10104),),
            probe=Probe(("CMD", "ollama", "list"), "ollama"),
            check=Check("http", 11434, "/api/tags"),
            volumes=(DataVolume("models", "/root/.ollama"),),
            memory_mb=8192,
            # inference takes what the host has; mesh:services.ollama.cpus caps it
            cpus=None,
            enabled=False,
            hostname="ollama",
            stop_signal="SIGTERM",
            stop_grace_s=15,
        ),
    )


CATALOG: dict[str, ServiceSpec] = {spec.name: spec for spec in _catalog()}
