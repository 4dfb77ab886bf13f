"""Each replayed container becomes `healthy` under its own healthcheck, in the program's dependency order."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from components.offline.engine.replay import ReplayError, UntranslatedInputError, create_container, plan_containers, translate, wait_healthy
from components.offline.engine.standins import standin_services
from components.offline.types import CONTAINER
from tests.engine.conftest import ReplayedMesh
from tests.loopback import wait_until


def test_every_service_with_a_stand_in_is_replayed(mesh: ReplayedMesh) -> None:
    replayed = {spec.service for spec in mesh.specs}
    assert replayed == set(standin_services(mesh.capture))
    # the floor this issue promises; a stand-in lost by a refactor must show here
    assert {"postgres", "redis", "rabbitmq", "prometheus", "alertmanager", "mcp-orchestrator"} <= replayed


def test_every_replayed_container_is_healthy_under_its_own_healthcheck(mesh: ReplayedMesh) -> None:
    for spec in mesh.specs:
        state = mesh.client.api.inspect_container(spec.name)
        assert state["State"]["Health"]["Status"] == "healthy", spec.name
        # the daemon runs the program's check, not one of ours
        assert state["Config"]["Healthcheck"]["Test"] == spec.registration.plain["healthcheck"]["tests"]
        assert spec.name in mesh.run.healthy


def test_containers_start_only_after_what_they_depend_on_is_healthy(mesh: ReplayedMesh) -> None:
    for spec in mesh.specs:
        for need in spec.needs:
            assert mesh.run.created[spec.name] >= mesh.run.healthy[need], f"{spec.name} was created before {need} was healthy"


def test_the_daemon_got_the_programs_limits_restart_policy_and_hardening(mesh: ReplayedMesh) -> None:
    for spec in mesh.specs:
        props = spec.registration.plain
        host = mesh.client.api.inspect_container(spec.name)["HostConfig"]
        given = {
            "Memory": int(props["memory"]) * 1024 * 1024,
            "NanoCpus": round(float(props.get("cpus", 0)) * 1e9),
            "RestartPolicy": props["restart"],
            "Privileged": bool(props.get("privileged", False)),
            "SecurityOpt": list(props.get("securityOpts") or []),
        }
        applied = {
            "Memory": host["Memory"],
            "NanoCpus": host["NanoCpus"],
            "RestartPolicy": host["RestartPolicy"]["Name"],
            "Privileged": host["Privileged"],
            # Docker itself adds `label=disable` (no SELinux label) to a privileged container
            "SecurityOpt": [opt for opt in host["SecurityOpt"] or [] if not (host["Privileged"] and opt == "label=disable")],
        }
        assert applied == given, spec.name
        for port in props.get("ports") or []:
            bound = host["PortBindings"][f"{int(port['internal'])}/{port['protocol']}"]
            assert bound == [{"HostIp": port["ip"], "HostPort": str(int(port["external"]))}]


def test_an_unhealthy_container_is_reported_with_its_last_healthcheck_output(mesh: ReplayedMesh) -> None:
    """PostgreSQL listening on another port than its healthcheck asks: the report carries pg_isready's own answer."""
    postgres = mesh.spec("postgres")
    fast_check = dict(postgres.config["Healthcheck"], Interval=1_000_000_000, StartPeriod=0, Retries=2)
    elsewhere = dataclasses.replace(
        postgres,
        name="sutazai-postgres-elsewhere",
        config=dict(postgres.config, Cmd=["postgres", "-p", "5433"], Healthcheck=fast_check),
        # no host port, and a throwaway tmpfs where the data volume was (the root filesystem is read-only)
        host_config={key: value for key, value in postgres.host_config.items() if key not in ("PortBindings", "Binds")}
        | {"Tmpfs": dict(postgres.host_config.get("Tmpfs") or {}) | {bind.split(":")[1]: "" for bind in postgres.host_config["Binds"]}},
        networks=[],
    )
    create_container(mesh.client, elsewhere, mesh.images[postgres.image_ref])
    try:
        # the entrypoint's init server answers on 5432 for a moment (as docker-library's does), so a check may pass
        # once; after it, every check fails and Docker turns the container unhealthy
        wait_until(lambda: _health(mesh.client, elsewhere.name) == "unhealthy", 90, "the healthcheck fails in a row")
        with pytest.raises(ReplayError) as failure:
            wait_healthy(mesh.client, elsewhere, timeout_s=5)
        assert "is unhealthy" in str(failure.value)
        assert "5432 - no response" in str(failure.value)  # pg_isready's words from the last healthcheck run
    finally:
        mesh.client.containers.get(elsewhere.name).remove(force=True)


def test_an_input_the_replay_cannot_translate_stops_it_by_name(mesh: ReplayedMesh) -> None:
    redis = mesh.capture.one(CONTAINER, "redis")
    widened = dataclasses.replace(redis, props={**redis.props, "gpus": "all"})
    with pytest.raises(UntranslatedInputError, match="gpus"):
        translate(mesh.capture, widened)
    assert plan_containers(mesh.capture, ["redis"])[0].name == "sutazai-redis"


def _health(client: Any, name: str) -> str | None:
    state = client.api.inspect_container(name)["State"]
    return (state.get("Health") or {}).get("Status")
