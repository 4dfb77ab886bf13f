"""The backend app: `/health`, `/metrics`, and JWT-protected `/api/v1/*` with the mesh status.

Run by the image as `uvicorn --factory mesh_backend.main:app_from_env`.
"""

from __future__ import annotations

import os
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from opentelemetry.sdk.trace import SpanProcessor
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from mesh_backend.auth import require_jwt
from mesh_backend.settings import Settings
from mesh_backend.telemetry import RequestMetrics, instrument, tracer_provider
from mesh_status.collect import collect
from mesh_status.http import Limits

# the API answers within Kong's default 60 s upstream timeout even when every part is down
STATUS_LIMITS = Limits(connect_timeout_s=1.0, read_timeout_s=3.0, retries=1)


def create_app(settings: Settings, span_processors: list[SpanProcessor] | None = None) -> FastAPI:
    app = FastAPI(title="service-mesh backend", version="0.1.0", docs_url=None, redoc_url=None)
    app.state.settings = settings
    registry = CollectorRegistry()
    app.state.tracer_provider = tracer_provider(settings.service_name, settings.otlp_endpoint, span_processors)
    app.middleware("http")(instrument(app.state.tracer_provider, RequestMetrics(registry)))

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    api = APIRouter(prefix="/api/v1", dependencies=[Depends(require_jwt)])

    @api.get("/mesh/status")
    def mesh_status(request: Request) -> dict[str, Any]:
        return collect(request.app.state.settings.targets, STATUS_LIMITS).to_dict()

    app.include_router(api)
    return app


def app_from_env() -> FastAPI:
    return create_app(Settings.from_env(os.environ))
