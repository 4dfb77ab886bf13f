"""Mesh status: reads the real state of a deployed mesh (Consul, Kong, Prometheus, Grafana, Jaeger,
MCP servers, databases) and reports it per service. Unknown stays unknown; nothing is assumed healthy.

Shared by `make verify` (tools/verify.py, from the host) and the backend's `/api/v1/mesh/status`
(from inside the mesh). Plain Python with `requests`; no Pulumi.
"""

from mesh_status.collect import collect
from mesh_status.model import Finding, MeshReport, Section, ServiceStatus, Verdict
from mesh_status.targets import DatabaseTarget, MeshTargets

__all__ = ["DatabaseTarget", "Finding", "MeshReport", "MeshTargets", "Section", "ServiceStatus", "Verdict", "collect"]
