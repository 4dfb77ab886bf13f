"""Traces (OTLP/HTTP to Jaeger, continuing the gateway's `traceparent`) and Prometheus metrics per request."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import Request, Response
from opentelemetry import propagate
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode
from prometheus_client import CollectorRegistry, Counter, Histogram


def tracer_provider(service_name: str, otlp_endpoint: str | None, processors: list[SpanProcessor] | None = None) -> TracerProvider:
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    if otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter: SpanExporter = OTLPSpanExporter(endpoint=f"{otlp_endpoint}/v1/traces", timeout=5)
        provider.add_span_processor(BatchSpanProcessor(exporter))
    for processor in processors or []:
        provider.add_span_processor(processor)
    return provider


class RequestMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter("http_requests_total", "HTTP requests served", ["method", "route", "status"], registry=registry)
        self.duration = Histogram("http_request_duration_seconds", "HTTP request duration", ["method", "route"], registry=registry)


def _route(request: Request) -> str:
    route = request.scope.get("route")
    return str(getattr(route, "path", "unmatched"))


def instrument(
    provider: TracerProvider, metrics: RequestMetrics
) -> Callable[[Request, Callable[[Request], Awaitable[Response]]], Awaitable[Response]]:
    tracer = provider.get_tracer("mesh_backend")

    async def middleware(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        context = propagate.extract(dict(request.headers))
        start = time.perf_counter()
        with tracer.start_as_current_span(f"{request.method} {request.url.path}", context=context, kind=SpanKind.SERVER) as span:
            span.set_attribute("http.request.method", request.method)
            span.set_attribute("url.path", request.url.path)
            response = await call_next(request)
            route = _route(request)
            span.update_name(f"{request.method} {route}")
            span.set_attribute("http.route", route)
            span.set_attribute("http.response.status_code", response.status_code)
            if response.status_code >= 500:
                span.set_status(Status(StatusCode.ERROR))
        metrics.requests.labels(request.method, route, str(response.status_code)).inc()
        metrics.duration.labels(request.method, route).observe(time.perf_counter() - start)
        return response

    return middleware
