"""Grafana (`/api/health`) and Jaeger (the query API's `/api/services`): answering is not enough,
the body must say the part behind it works (Grafana's database ok, Jaeger's query store readable).

Grafana: https://grafana.com/docs/grafana/latest/developers/http_api/other/#health-api
Jaeger: https://www.jaegertracing.io/docs/2.13/architecture/apis/ (HTTP JSON of the query service)
"""

from __future__ import annotations

import requests

from mesh_status.http import BadAnswerError, Limits, UnreachableError, get_json
from mesh_status.model import Verdict
from mesh_status.observation import Observation


def check_grafana(session: requests.Session, url: str, limits: Limits) -> Observation:
    try:
        body, _ = get_json(session, f"{url}/api/health", limits)
    except (UnreachableError, BadAnswerError) as error:
        return Observation("grafana", "http", Verdict.FAIL, str(error))
    database = body.get("database") if isinstance(body, dict) else None
    if database != "ok":
        return Observation("grafana", "http", Verdict.FAIL, f"/api/health reports database {database!r}")
    return Observation("grafana", "http", Verdict.PASS, f"/api/health: database ok, version {body.get('version', '?')}")


def check_jaeger(session: requests.Session, url: str, limits: Limits) -> Observation:
    try:
        body, _ = get_json(session, f"{url}/api/services", limits)
    except (UnreachableError, BadAnswerError) as error:
        return Observation("jaeger", "http", Verdict.FAIL, str(error))
    services = body.get("data") if isinstance(body, dict) else None
    if not isinstance(services, list):
        return Observation("jaeger", "http", Verdict.FAIL, "/api/services body has no service list")
    if body.get("errors"):
        return Observation("jaeger", "http", Verdict.FAIL, f"/api/services errors: {body['errors']}")
    traced = ", ".join(sorted(map(str, services))) or "none yet"
    return Observation("jaeger", "http", Verdict.PASS, f"query API answers; services with traces: {traced}")
