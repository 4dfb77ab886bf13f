"""Replay the program's own host-daemon resources on a real Docker Engine, the way pulumi-docker creates them.

Input: the `Capture` of a synthesis (every registered network, volume and container with its inputs).
Output: the same networks, volumes and containers on a daemon, through the Docker SDK, with the image the
program names replaced by its local stand-in. Each container input is translated as
terraform-provider-docker's `resourceDockerContainerCreate` does (resource_docker_container_funcs.go:
create on the default bridge, disconnect it, connect `networks_advanced` with aliases, upload files as a
tar at `/`, start, then wait for `healthy` when `wait` is set). An input with no translation here stops the
replay with its name, so nothing the program asks for is dropped silently.
"""

from __future__ import annotations

import concurrent.futures
import io
import re
import tarfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from components.catalog.names import POSTGRES
from components.offline.synth import Capture, Registration
from components.offline.types import CONTAINER, IMAGE, NETWORK, REMOTE_IMAGE, VOLUME

# lifecycle inputs the replay honours itself rather than passing to the daemon
_LIFECYCLE = {"wait", "waitTimeout", "name", "image", "destroyGraceSeconds", "mustRun", "start", "rm", "removeVolumes"}
_TRANSLATED = {
    "command",
    "entrypoint",
    "envs",
    "user",
    "workingDir",
    "hostname",
    "domainname",
    "labels",
    "ports",
    "healthcheck",
    "restart",
    "maxRetryCount",
    "memory",
    "memorySwap",
    "cpus",
    "cpuShares",
    "cpuSet",
    "privileged",
    "readOnly",
    "tmpfs",
    "securityOpts",
    "capabilities",
    "stopSignal",
    "stopTimeout",
    "volumes",
    "mounts",
    "hosts",
    "networksAdvanced",
    "uploads",
    "init",
    "shmSize",
    "sysctls",
    "groupAdds",
    "ulimits",
    "logDriver",
    "logOpts",
    "dns",
    "dnsOpts",
    "dnsSearches",
    "tty",
    "stdinOpen",
}


class UntranslatedInputError(ValueError):
    """A registered input the replay does not know how to give the daemon."""


class ReplayError(RuntimeError):
    """A replayed container did not become healthy (the message carries its last healthcheck output)."""


def _duration_ns(text: str | None) -> int:
    """Go's time.ParseDuration for the forms the program writes (`10s`, `1m30s`, `500ms`)."""
    if not text:
        return 0
    units = {"ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": 1_000_000_000, "m": 60_000_000_000, "h": 3_600_000_000_000}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)", text)
    if not parts or "".join(a + b for a, b in parts) != text:
        raise UntranslatedInputError(f"duration {text!r} is not a Go duration")
    return int(sum(float(amount) * units[unit] for amount, unit in parts))


@dataclass
class ContainerSpec:
    """One container as the daemon will receive it; built from a registration, never written by hand."""

    registration: Registration
    service: str
    name: str
    image_ref: str
    config: dict[str, Any]
    host_config: dict[str, Any]
    networks: list[tuple[str, list[str]]]
    uploads: list[tuple[str, bytes, int]]
    wait: bool
    wait_timeout_s: float
    needs: list[str] = field(default_factory=list)
    """Names of replayed containers this one depends on (created and healthy first)."""


def _image_ref(capture: Capture, registration: Registration) -> str:
    """The image name the program asked for, from the image resource its `image` input comes from."""
    sources = [capture.by_urn(urn) for urn in registration.property_dependencies.get("image", ())]
    names = [
        str(source.plain["name"] if source.type == REMOTE_IMAGE else source.plain["imageName"])
        for source in sources
        if source.type in (REMOTE_IMAGE, IMAGE)
    ]
    if len(names) != 1:
        raise UntranslatedInputError(f"{registration.name}: the image input comes from {len(names)} image resources")
    return names[0]


def translate(capture: Capture, registration: Registration, substitute: Callable[[str], str] = lambda text: text) -> ContainerSpec:
    """The create call pulumi-docker would make for this container registration."""
    props = registration.plain
    unknown = sorted(set(props) - _TRANSLATED - _LIFECYCLE)
    if unknown:
        raise UntranslatedInputError(f"{registration.name}: container inputs with no replay translation: {', '.join(unknown)}")
    config: dict[str, Any] = {}
    host: dict[str, Any] = {}
    if "command" in props:
        config["Cmd"] = list(props["command"])
    if "entrypoint" in props:
        config["Entrypoint"] = list(props["entrypoint"])
    if "envs" in props:
        config["Env"] = [substitute(str(item)) for item in props["envs"]]
    for source, target in (("user", "User"), ("workingDir", "WorkingDir"), ("hostname", "Hostname"), ("domainname", "Domainname")):
        if source in props:
            config[target] = props[source]
    config["Tty"] = bool(props.get("tty", False))
    config["OpenStdin"] = bool(props.get("stdinOpen", False))
    if "labels" in props:
        config["Labels"] = {item["label"]: item["value"] for item in props["labels"]}
    if "stopSignal" in props:
        config["StopSignal"] = props["stopSignal"]
    if "stopTimeout" in props:
        config["StopTimeout"] = int(props["stopTimeout"])
    if "ports" in props:
        exposed: dict[str, dict[str, Any]] = {}
        bindings: dict[str, list[dict[str, str]]] = {}
        for port in props["ports"]:
            key = f"{int(port['internal'])}/{port.get('protocol', 'tcp')}"
            exposed[key] = {}
            if "external" in port:
                bindings.setdefault(key, []).append({"HostIp": port.get("ip", "0.0.0.0"), "HostPort": str(int(port["external"]))})
        config["ExposedPorts"] = exposed
        host["PortBindings"] = bindings
    if "healthcheck" in props:
        check = props["healthcheck"]
        config["Healthcheck"] = {
            "Test": list(check["tests"]),
            "Interval": _duration_ns(check.get("interval")),
            "Timeout": _duration_ns(check.get("timeout")),
            "StartPeriod": _duration_ns(check.get("startPeriod")),
            "Retries": int(check.get("retries", 0)),
        }
    host["RestartPolicy"] = {"Name": props.get("restart", "no"), "MaximumRetryCount": int(props.get("maxRetryCount", 0))}
    if "memory" in props:
        host["Memory"] = int(props["memory"]) * 1024 * 1024
    if "memorySwap" in props:
        swap = int(props["memorySwap"])
        host["MemorySwap"] = swap * 1024 * 1024 if swap > 0 else swap
    if "cpus" in props:
        host["NanoCpus"] = round(float(props["cpus"]) * 1e9)
    if "cpuShares" in props:
        host["CpuShares"] = int(props["cpuShares"])
    if "cpuSet" in props:
        host["CpusetCpus"] = props["cpuSet"]
    host["Privileged"] = bool(props.get("privileged", False))
    host["ReadonlyRootfs"] = bool(props.get("readOnly", False))
    host["Init"] = bool(props.get("init", False))
    if "tmpfs" in props:
        host["Tmpfs"] = {key: str(value) for key, value in props["tmpfs"].items()}
    if "securityOpts" in props:
        host["SecurityOpt"] = list(props["securityOpts"])
    if "capabilities" in props:
        host["CapAdd"] = list(props["capabilities"].get("adds") or [])
        host["CapDrop"] = list(props["capabilities"].get("drops") or [])
    if "shmSize" in props:
        host["ShmSize"] = int(props["shmSize"]) * 1024 * 1024
    if "sysctls" in props:
        host["Sysctls"] = {key: str(value) for key, value in props["sysctls"].items()}
    if "groupAdds" in props:
        host["GroupAdd"] = list(props["groupAdds"])
    if "ulimits" in props:
        host["Ulimits"] = [{"Name": u["name"], "Soft": int(u["soft"]), "Hard": int(u["hard"])} for u in props["ulimits"]]
    if "logDriver" in props:
        host["LogConfig"] = {"Type": props["logDriver"], "Config": dict(props.get("logOpts") or {})}
    for source, target in (("dns", "Dns"), ("dnsOpts", "DnsOptions"), ("dnsSearches", "DnsSearch")):
        if source in props:
            host[target] = list(props[source])
    if "hosts" in props:
        host["ExtraHosts"] = [f"{item['host']}:{item['ip']}" for item in props["hosts"]]
    binds, container_volumes = _volumes(registration.name, props.get("volumes") or [])
    if binds:
        host["Binds"] = binds
    if container_volumes:
        config["Volumes"] = container_volumes
    if "mounts" in props:
        host["Mounts"] = [_mount(registration.name, item) for item in props["mounts"]]
    uploads = []
    for upload in props.get("uploads") or []:
        if set(upload) - {"file", "content", "permissions", "executable"}:
            raise UntranslatedInputError(f"{registration.name}: upload fields {sorted(set(upload) - {'file', 'content', 'permissions'})}")
        mode = int(upload["permissions"], 8) if "permissions" in upload else (0o744 if upload.get("executable") else 0o644)
        uploads.append((upload["file"], substitute(upload["content"]).encode(), mode))
    networks = [(item["name"], list(item.get("aliases") or [])) for item in props.get("networksAdvanced") or []]
    for item in props.get("networksAdvanced") or []:
        if set(item) - {"name", "aliases"}:
            raise UntranslatedInputError(f"{registration.name}: networks_advanced fields {sorted(set(item) - {'name', 'aliases'})}")
    return ContainerSpec(
        registration=registration,
        service=registration.label("mesh.service") or registration.name,
        name=props["name"],
        image_ref=_image_ref(capture, registration),
        config=config,
        host_config=host,
        networks=networks,
        uploads=uploads,
        wait=bool(props.get("wait", False)),
        wait_timeout_s=float(props.get("waitTimeout", 60)),
    )


def _volumes(name: str, volumes: Iterable[dict[str, Any]]) -> tuple[list[str], dict[str, dict[str, Any]]]:
    """volumeSetToDockerVolumes: named volume or host path -> a bind `src:dst[:ro]`; a bare path -> an anonymous volume."""
    binds: list[str] = []
    anonymous: dict[str, dict[str, Any]] = {}
    for volume in volumes:
        if set(volume) - {"volumeName", "hostPath", "containerPath", "readOnly"}:
            raise UntranslatedInputError(f"{name}: volume fields {sorted(volume)}")
        source = volume.get("volumeName") or volume.get("hostPath")
        if source:
            binds.append(f"{source}:{volume['containerPath']}" + (":ro" if volume.get("readOnly") else ""))
        else:
            anonymous[volume["containerPath"]] = {}
    return binds, anonymous


def _mount(name: str, mount: dict[str, Any]) -> dict[str, Any]:
    if set(mount) - {"type", "target", "source", "readOnly"}:
        raise UntranslatedInputError(f"{name}: mount fields {sorted(mount)}")
    return {"Type": mount["type"], "Target": mount["target"], "Source": mount.get("source", ""), "ReadOnly": bool(mount.get("readOnly"))}


def host_daemon(registration: Registration) -> bool:
    """Resources on the host's daemon (the default provider); the DinD's nested provider is another daemon."""
    return not registration.provider


def plan_containers(capture: Capture, services: Iterable[str], substitute: Callable[[str], str] = lambda text: text) -> list[ContainerSpec]:
    """The host-daemon containers of these services, translated, each knowing which replayed containers it waits for."""
    wanted = set(services)
    chosen = [r for r in capture.all(CONTAINER) if host_daemon(r) and (r.label("mesh.service") or r.name) in wanted]
    specs = [translate(capture, registration, substitute) for registration in chosen]
    by_urn = {spec.registration.urn: spec for spec in specs}
    database_objects = {r.urn for r in capture.all(ROLE) + capture.all(GRANT)}
    postgres = [spec.name for spec in specs if spec.service == POSTGRES]
    for spec in specs:
        needs = {by_urn[urn].name for urn in spec.registration.dependencies if urn in by_urn}
        # a role or grant of the program's DatabaseRoles is applied once PostgreSQL is healthy (see replay)
        if database_objects & set(spec.registration.dependencies):
            needs |= set(postgres)
        spec.needs = sorted(needs)
    return specs


def networks_for(capture: Capture, specs: Iterable[ContainerSpec]) -> list[Registration]:
    names = {network for spec in specs for network, _ in spec.networks}
    return [r for r in capture.all(NETWORK) if host_daemon(r) and r.plain["name"] in names]


def volumes_for(capture: Capture, specs: Iterable[ContainerSpec]) -> list[Registration]:
    names = {bind.split(":", 1)[0] for spec in specs for bind in spec.host_config.get("Binds", [])}
    return [r for r in capture.all(VOLUME) if host_daemon(r) and r.plain["name"] in names]


def create_network(client: Any, registration: Registration) -> None:
    props = registration.plain
    unknown = set(props) - {"name", "driver", "attachable", "internal", "labels", "options", "checkDuplicate"}
    if unknown:
        raise UntranslatedInputError(f"network {registration.name}: inputs with no replay translation: {sorted(unknown)}")
    client.networks.create(
        props["name"],
        driver=props.get("driver", "bridge"),
        attachable=bool(props.get("attachable", False)),
        internal=bool(props.get("internal", False)),
        labels={item["label"]: item["value"] for item in props.get("labels") or []},
        options=dict(props.get("options") or {}),
        check_duplicate=True,
    )


def create_volume(client: Any, registration: Registration) -> None:
    props = registration.plain
    unknown = set(props) - {"name", "driver", "labels", "driverOpts"}
    if unknown:
        raise UntranslatedInputError(f"volume {registration.name}: inputs with no replay translation: {sorted(unknown)}")
    client.volumes.create(
        name=props["name"],
        driver=props.get("driver", "local"),
        driver_opts=dict(props.get("driverOpts") or {}),
        labels={item["label"]: item["value"] for item in props.get("labels") or []},
    )


def create_container(client: Any, spec: ContainerSpec, image: str) -> str:
    """resourceDockerContainerCreate: create, move from the default bridge to the named networks, upload, start."""
    api = client.api
    body = dict(spec.config, Image=image, HostConfig=dict(spec.host_config))
    created = api.post(api._url("/containers/create"), params={"name": spec.name}, json=body)
    container_id = str(api._result(created, True)["Id"])
    if spec.networks:
        api.disconnect_container_from_network(container_id, "bridge")
        for network, aliases in spec.networks:
            api.connect_container_to_network(container_id, network, aliases=aliases or None)
    for path, content, mode in spec.uploads:
        api.put_archive(container_id, "/", tar_of({path: (content, mode)}))
    api.start(container_id)
    return container_id


def wait_healthy(client: Any, spec: ContainerSpec, timeout_s: float | None = None, *, recovering: bool = False) -> float:
    """Wait like `wait=True`: until `healthy`; `unhealthy`, an exit or the timeout is an error with the last check output.

    `recovering`: the container was unhealthy on purpose (paused, stopped) and only has to become healthy again in time.
    """
    deadline = time.monotonic() + (timeout_s if timeout_s is not None else spec.wait_timeout_s)
    state: dict[str, Any] = {}
    while time.monotonic() < deadline:
        state = client.api.inspect_container(spec.name)["State"]
        health = (state.get("Health") or {}).get("Status")
        if health == "healthy":
            return time.monotonic()
        if (health == "unhealthy" and not recovering) or state.get("Status") in ("exited", "dead"):
            break
        time.sleep(0.5)
    raise ReplayError(describe_failure(client, spec.name, state))


def describe_failure(client: Any, name: str, state: dict[str, Any]) -> str:
    checks = (state.get("Health") or {}).get("Log") or []
    last = checks[-1] if checks else {}
    logs = client.api.logs(name, tail=15).decode(errors="replace").strip()
    return (
        f"{name} is {(state.get('Health') or {}).get('Status') or state.get('Status')} "
        f"(exit code {state.get('ExitCode')}); last healthcheck exit {last.get('ExitCode')}: "
        f"{str(last.get('Output', '')).strip()[-600:]!r}\ncontainer log tail:\n{logs[-1500:]}"
    )


@dataclass
class ReplayRun:
    created: dict[str, float] = field(default_factory=dict)
    healthy: dict[str, float] = field(default_factory=dict)
    started_at: float = 0.0
    finished_at: float = 0.0

    @property
    def elapsed_s(self) -> float:
        return self.finished_at - self.started_at


ROLE = "postgresql:index/role:Role"
GRANT = "postgresql:index/grant:Grant"
POSTGRES_PROVIDER = "pulumi:providers:postgresql"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def database_statements(capture: Capture) -> list[str]:
    """The SQL the PostgreSQL provider runs for the program's roles and grants, in order (roles before grants).

    terraform-provider-postgresql: resource_postgresql_role.go (CREATE ROLE ... LOGIN PASSWORD, then GRANT of
    `roles`), resource_postgresql_grant.go (GRANT privileges ON DATABASE / ON SCHEMA). Any other input stops the
    replay by name, as for containers.
    """
    statements = []
    for role in capture.all(ROLE):
        props = role.plain
        unknown = set(props) - {"name", "login", "password", "roles"}
        if unknown:
            raise UntranslatedInputError(f"{role.name}: role inputs {sorted(unknown)} are not replayed")
        login = "LOGIN" if props.get("login") else "NOLOGIN"
        statements.append(f"CREATE ROLE {_ident(props['name'])} {login} PASSWORD {_literal(props['password'])}")
        statements += [f"GRANT {_ident(member_of)} TO {_ident(props['name'])}" for member_of in props.get("roles") or []]
    for grant in capture.all(GRANT):
        props = grant.plain
        privileges = ", ".join(props["privileges"])
        if props["objectType"] == "database":
            target = f"DATABASE {_ident(props['database'])}"
        elif props["objectType"] == "schema":
            target = f"SCHEMA {_ident(props['schema'])}"
        else:
            raise UntranslatedInputError(f"{grant.name}: grants on {props['objectType']} are not replayed")
        statements.append(f"GRANT {privileges} ON {target} TO {_ident(props['role'])}")
    return statements


def apply_database_roles(client: Any, capture: Capture, container: str) -> None:
    """Run `database_statements` in the healthy PostgreSQL container as the provider's user (idempotent per volume)."""
    statements = database_statements(capture)
    providers = capture.all(POSTGRES_PROVIDER)
    if not statements or not providers:
        return
    provider = providers[0].plain
    target = client.containers.get(container)
    exists = target.exec_run(
        [
            "psql",
            "-h",
            "127.0.0.1",
            "-U",
            provider["username"],
            "-d",
            provider["database"],
            "-tAc",
            "SELECT count(*) FROM pg_roles WHERE rolname IN (" + ", ".join(_literal(r.plain["name"]) for r in capture.all(ROLE)) + ")",
        ],
        environment={"PGPASSWORD": provider["password"]},
    )
    if exists.exit_code == 0 and exists.output.decode().strip() == str(len(capture.all(ROLE))):
        return  # a replacement on the same volume: the roles are already there, as after a real `up`
    for statement in statements:
        done = target.exec_run(
            ["psql", "-h", "127.0.0.1", "-U", provider["username"], "-d", provider["database"], "-v", "ON_ERROR_STOP=1", "-c", statement],
            environment={"PGPASSWORD": provider["password"]},
        )
        if done.exit_code != 0:
            raise ReplayError(f"{container}: {statement.split(' PASSWORD ')[0]} failed: {done.output.decode(errors='replace')[-500:]}")


def replay(
    client: Any,
    capture: Capture,
    specs: list[ContainerSpec],
    images: dict[str, str],
    *,
    parallel: bool = True,
) -> ReplayRun:
    """Networks and volumes first, then each container once every container it needs is healthy.

    `parallel` starts every container as soon as its needs are met (what `pulumi up` does);
    otherwise one at a time, each waiting for the previous one to be healthy.
    """
    run = ReplayRun(started_at=time.monotonic())
    for network in networks_for(capture, specs):
        create_network(client, network)
    for volume in volumes_for(capture, specs):
        if not any(v.name == volume.plain["name"] for v in client.volumes.list()):
            create_volume(client, volume)
    done: dict[str, threading.Event] = {spec.name: threading.Event() for spec in specs}
    failures: list[BaseException] = []

    def bring_up(spec: ContainerSpec) -> None:
        for need in spec.needs:
            done[need].wait()
        if failures:
            return
        run.created[spec.name] = time.monotonic()
        create_container(client, spec, images[spec.image_ref])
        if spec.wait:
            run.healthy[spec.name] = wait_healthy(client, spec)
        if spec.service == POSTGRES:
            # the program's DatabaseRoles run once PostgreSQL is healthy, before the containers that log in with them
            apply_database_roles(client, capture, spec.name)
        done[spec.name].set()

    if parallel:
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, len(specs))) as pool:
            futures = [pool.submit(_guarded, bring_up, spec, failures, done[spec.name]) for spec in specs]
            concurrent.futures.wait(futures)
    else:
        for spec in _ordered(specs):
            _guarded(bring_up, spec, failures, done[spec.name])
            if failures:
                break
    run.finished_at = time.monotonic()
    if failures:
        raise failures[0]
    return run


def _guarded(step: Callable[[ContainerSpec], None], spec: ContainerSpec, failures: list[BaseException], done: threading.Event) -> None:
    try:
        step(spec)
    except BaseException as error:
        failures.append(error)
        done.set()


def _ordered(specs: list[ContainerSpec]) -> list[ContainerSpec]:
    placed: list[ContainerSpec] = []
    remaining = list(specs)
    while remaining:
        ready = [spec for spec in remaining if all(need in {p.name for p in placed} for need in spec.needs)]
        if not ready:
            raise ValueError("dependency cycle among replayed containers")
        placed.extend(ready)
        remaining = [spec for spec in remaining if spec not in ready]
    return placed


def replace_container(client: Any, spec: ContainerSpec, image: str) -> None:
    """What a replacement with `delete_before_replace` does: remove the old container (not its volumes), create it anew."""
    grace = spec.registration.plain.get("destroyGraceSeconds")
    container = client.containers.get(spec.name)
    container.stop(timeout=int(grace) if grace is not None else 10)
    container.remove(v=False)
    create_container(client, spec, image)
    if spec.wait:
        wait_healthy(client, spec)


def remove_replayed(client: Any, capture: Capture, specs: list[ContainerSpec]) -> None:
    for spec in specs:
        for container in client.containers.list(all=True, filters={"name": f"^{spec.name}$"}):
            container.remove(force=True, v=False)
    for network in networks_for(capture, specs):
        for found in client.networks.list(names=[network.plain["name"]]):
            found.remove()
    for volume in volumes_for(capture, specs):
        for found in client.volumes.list(filters={"name": volume.plain["name"]}):
            found.remove(force=True)


def tar_of(files: dict[str, tuple[bytes, int]]) -> bytes:
    """A tar archive of absolute paths -> (content, mode), as pulumi-docker builds one per upload."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, (content, mode) in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            info.mode = mode
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()
