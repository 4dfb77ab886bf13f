"""The pack as the Pulumi engine meets it: `policies/__main__.py` started from the pack's directory,
spoken to over the engine's Analyzer gRPC protocol (what `pulumi preview --policy-pack policies` does)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc
from pulumi_policy.deserialize import SPECIAL_SECRET_SIG, SPECIAL_SIG_KEY

from components.offline.types import CONTAINER
from policies.offline import engine_properties
from policies.rules import build_policies
from tests.policy_fixtures import container_props, urn_of

PACK_DIR = Path(__file__).resolve().parent.parent / "policies"


@pytest.fixture(scope="module")
def analyzer() -> Iterator[Any]:
    server = subprocess.Popen([sys.executable, "__main__.py"], cwd=PACK_DIR, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline().decode().strip())
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        grpc.channel_ready_future(channel).result(timeout=30)
        yield analyzer_pb2_grpc.AnalyzerStub(channel)
        channel.close()
    finally:
        server.terminate()
        server.wait(timeout=10)


def struct(props: dict[str, Any]) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(props)
    return message


def analyze_request(name: str, props: dict[str, Any]) -> analyzer_pb2.AnalyzeRequest:
    wire = engine_properties(props)
    return analyzer_pb2.AnalyzeRequest(type=CONTAINER, properties=struct(wire), urn=urn_of(CONTAINER, name), name=name)


def test_the_pack_announces_every_policy_with_its_level_and_config_schema(analyzer):
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == "service-mesh" and info.supportsConfig
    announced = {policy.name: policy for policy in info.policies}
    assert set(announced) == {policy.name for policy in build_policies()}
    levels = {name: analyzer_pb2.EnforcementLevel.Name(policy.enforcementLevel) for name, policy in announced.items()}
    assert levels["host-port-in-category-range"] == "MANDATORY" and levels["container-healthcheck"] == "MANDATORY"
    assert levels["registered-in-consul"] == "MANDATORY" and levels["credential-env-secret"] == "REMEDIATE"
    ranges = json_format.MessageToDict(announced["host-port-in-category-range"].configSchema.properties)["portRanges"]["default"]
    assert ranges["orchestration"] == [12000, 12999]


def test_the_engine_gets_a_mandatory_diagnostic_for_a_container_open_to_the_lan(analyzer):
    props = container_props("postgres", "core", [(5432, 10000)])
    props["ports"][0]["ip"] = "0.0.0.0"
    response = analyzer.Analyze(analyze_request("postgres", props))
    (diagnostic,) = response.diagnostics
    assert diagnostic.policyName == "published-port-loopback"
    assert analyzer_pb2.EnforcementLevel.Name(diagnostic.enforcementLevel) == "MANDATORY"
    assert "sutazai-postgres publishes host port 10000" in diagnostic.message


def test_a_healthy_container_gets_no_diagnostic(analyzer):
    response = analyzer.Analyze(analyze_request("postgres", container_props("postgres", "core", [(5432, 10000)])))
    assert list(response.diagnostics) == []


def test_the_stack_policies_run_over_the_whole_stack(analyzer):
    resources = [
        analyzer_pb2.AnalyzerResource(
            type=CONTAINER,
            properties=struct(engine_properties(container_props(service, "core", [(5432, 10000)]))),
            urn=urn_of(CONTAINER, service),
            name=service,
        )
        for service in ("postgres", "redis")
    ]
    response = analyzer.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=resources))
    by_policy = {(d.policyName, d.urn) for d in response.diagnostics}
    assert ("unique-host-ports", urn_of(CONTAINER, "redis")) in by_policy
    assert {name for name, _ in by_policy} == {"unique-host-ports", "registered-in-consul"}


def test_the_engine_remediation_marks_a_plaintext_credential_secret(analyzer):
    props = container_props("postgres", "core", [(5432, 10000)], envs=["POSTGRES_USER=mesh", "POSTGRES_PASSWORD=hunter2"])
    response = analyzer.Remediate(analyze_request("postgres", props))
    (remediation,) = response.remediations
    assert remediation.policyName == "credential-env-secret"
    envs = json_format.MessageToDict(remediation.properties)["envs"]
    assert envs[0] == "POSTGRES_USER=mesh"
    assert envs[1] == {SPECIAL_SIG_KEY: SPECIAL_SECRET_SIG, "value": "POSTGRES_PASSWORD=hunter2"}


def test_the_engine_remediation_leaves_secret_credentials_alone(analyzer):
    response = analyzer.Remediate(analyze_request("postgres", container_props("postgres", "core", [(5432, 10000)])))
    assert list(response.remediations) == []


def test_policy_config_from_the_engine_reaches_the_rules(analyzer):
    props = container_props("postgres", "core", [(5432, 10000)], privileged=True)
    before = analyzer.Analyze(analyze_request("postgres", props))
    assert [d.policyName for d in before.diagnostics] == ["privileged-allow-list"]
    config = analyzer_pb2.PolicyConfig(
        enforcementLevel=analyzer_pb2.MANDATORY, properties=struct({"allowedServices": ["mcp-orchestrator", "postgres"]})
    )
    analyzer.Configure(analyzer_pb2.ConfigureAnalyzerRequest(policyConfig={"privileged-allow-list": config}))
    try:
        assert list(analyzer.Analyze(analyze_request("postgres", props)).diagnostics) == []
    finally:
        analyzer.Configure(analyzer_pb2.ConfigureAnalyzerRequest(policyConfig={}))
