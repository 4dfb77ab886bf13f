"""The Docker socket proxy's rendered haproxy.cfg in front of a real Docker Engine (the private dockerd).

Debian's HAProxy (2.6; the image is 3.4.3, same directives: tests/test_socket_proxy_live.py) runs the catalog's
command with the rendered config, its backend pointed at the private daemon's socket; the Docker SDK, a real
Docker API client, talks to it over tcp:// as Alloy and cAdvisor do. Reads reach the daemon (its own answers and
errors come back); writes are refused with 403 by the proxy and the daemon shows nothing changed.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from components.offline.engine.daemon import PrivateDaemon
from tests.host_tools import require
from tests.socket_proxy import host_proxy


@pytest.fixture(scope="module")
def through_proxy(engine: PrivateDaemon, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    require("haproxy")
    import docker

    workdir = tmp_path_factory.mktemp("socket-proxy-engine")
    try:
        with host_proxy(engine.socket, workdir) as proxy:
            # version "auto": the SDK asks GET /version first, as the Go clients negotiate with /_ping
            client = docker.DockerClient(base_url=f"tcp://127.0.0.1:{proxy.port}", timeout=30)
            yield client
            client.close()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def test_the_reads_alloy_and_cadvisor_make_are_answered_by_the_daemon(engine, through_proxy):
    import docker

    direct = engine.client()
    assert through_proxy.version()["ApiVersion"] == direct.version()["ApiVersion"]
    assert through_proxy.info()["Driver"] == direct.info()["Driver"]
    assert sorted(c.id for c in through_proxy.containers.list(all=True)) == sorted(c.id for c in direct.containers.list(all=True))
    assert {n.id for n in through_proxy.networks.list()} == {n.id for n in direct.networks.list()}
    # inspect and logs are forwarded: the daemon itself answers 404 for a container it does not have
    with pytest.raises(docker.errors.NotFound):
        through_proxy.api.inspect_container("no-such-container")
    with pytest.raises(docker.errors.NotFound):
        through_proxy.api.logs("no-such-container")


def test_writes_exec_and_everything_else_are_refused_before_the_daemon(engine, through_proxy):
    import docker

    direct = engine.client()
    before = ({c.id for c in direct.containers.list(all=True)}, {n.id for n in direct.networks.list()})
    refused: list[Callable[[], object]] = [
        lambda: through_proxy.api.create_container("busybox", name="proxy-escape"),
        lambda: through_proxy.api.create_network("proxy-escape"),
        lambda: through_proxy.api.exec_create("no-such-container", "id"),
        lambda: through_proxy.api.remove_container("no-such-container", force=True),
        lambda: through_proxy.api.pull("busybox", tag="1"),
        lambda: through_proxy.api.prune_containers(),
        # a GET that would copy a container's files out: not on the read list either
        lambda: through_proxy.api.get_archive("no-such-container", "/"),
    ]
    for index, call in enumerate(refused):
        with pytest.raises(docker.errors.APIError, match="403") as raised:
            call()
            pytest.fail(f"call {index} was not refused")
        # 403 from HAProxy, not the daemon's 404 for a missing container or image
        assert raised.value.response.status_code == 403
    assert ({c.id for c in direct.containers.list(all=True)}, {n.id for n in direct.networks.list()}) == before
