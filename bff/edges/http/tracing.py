"""OpenTelemetry tracing: incoming request -> Redis -> WeChat as one trace, when asked for.

Off unless the standard variables ask for it: tracing starts when ``OTEL_TRACES_EXPORTER`` is
set to ``otlp`` or ``console``, or when ``OTEL_EXPORTER_OTLP_ENDPOINT`` /
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` is set (then ``otlp``); ``OTEL_SDK_DISABLED=true`` or
``OTEL_TRACES_EXPORTER=none`` keeps it off. The service name is ``OTEL_SERVICE_NAME`` (default
``bff``); the OTLP exporter is OTLP over HTTP (protobuf) and reads its own ``OTEL_EXPORTER_OTLP_*``
variables. The packages are the optional extra ``otel`` (``pip install 'bff[otel]'``).

Spans come from OpenTelemetry's Flask, requests and redis instrumentations. Nothing secret
reaches a span: Redis statements are sanitised by the instrumentation (``HGET ? ?``), and every
URL attribute loses its query string here (WeChat URLs carry the access_token, jscode2session's
the AppSecret, and pushed events' the openid).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from flask import Flask

from bff.ground.observability import current_request_id

log = logging.getLogger(__name__)

_URL_ATTRIBUTES = ("http.url", "url.full", "http.target")
_QUERY_ATTRIBUTES = ("url.query",)
_state: dict[str, Any] = {}  # process-wide: the provider and the global instrumentations


def wanted(environ: Mapping[str, str] | None = None) -> str | None:
    """The exporter the environment asks for (``otlp`` / ``console``), or None: tracing off."""
    env = os.environ if environ is None else environ
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    exporter = env.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter:
        return None if exporter == "none" else exporter.split(",")[0].strip()
    if env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        return "otlp"
    return None


def init_app(app: Flask, *, tracer_provider: Any = None) -> bool:
    """Instrument ``app`` (and, once per process, requests and redis) when tracing is wanted.

    ``tracer_provider``: use this provider (tests: an in-memory exporter) whatever the
    environment says. Returns whether the app is traced.
    """
    exporter = None if tracer_provider is not None else wanted()
    if tracer_provider is None and exporter is None:
        return False
    try:
        from opentelemetry.instrumentation.flask import FlaskInstrumentor
    except ImportError:
        log.warning("OTEL_* asks for tracing but the OpenTelemetry packages are missing: "
                    "pip install 'bff[otel]'; tracing stays off")
        return False
    provider = tracer_provider or _process_provider(exporter or "otlp")
    if provider is None:
        return False
    instrument_libraries(provider)
    from werkzeug.middleware.dispatcher import DispatcherMiddleware

    from bff.edges.http.service_app import ServiceFlask

    if isinstance(app, ServiceFlask):
        app.direct_routes.clear()  # every request through Flask, where its span begins

    outer = app.wsgi_app
    mounted = isinstance(outer, DispatcherMiddleware)  # sandbox mode: /sandbox is not ours
    if mounted:
        app.wsgi_app = outer.app  # type: ignore[method-assign]
    FlaskInstrumentor().instrument_app(app, tracer_provider=provider,
                                       request_hook=_request_hook)
    if mounted:
        outer.app = app.wsgi_app
        app.wsgi_app = outer  # type: ignore[method-assign]
    return True


def instrument_libraries(provider: Any) -> None:
    """requests and redis, process-wide (they patch the libraries), with ``provider``."""
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.instrumentation.requests import RequestsInstrumentor

    if _state.get("libraries") is provider:
        return
    uninstrument_libraries()
    RequestsInstrumentor().instrument(tracer_provider=provider, request_hook=_request_hook)
    RedisInstrumentor().instrument(tracer_provider=provider)
    _state["libraries"] = provider


def uninstrument_libraries() -> None:
    if _state.pop("libraries", None) is None:
        return
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.instrumentation.requests import RequestsInstrumentor

    RequestsInstrumentor().uninstrument()
    RedisInstrumentor().uninstrument()


def _process_provider(exporter: str) -> Any:
    if "provider" in _state:
        return _state["provider"]
    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    if exporter == "console":
        span_exporter: Any = ConsoleSpanExporter()
    elif exporter == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        span_exporter = OTLPSpanExporter()
    else:
        log.warning("OTEL_TRACES_EXPORTER=%s is not supported (otlp or console); tracing stays "
                    "off", exporter)
        return None
    name = os.environ.get("OTEL_SERVICE_NAME") or "bff"
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    provider.add_span_processor(BatchSpanProcessor(span_exporter))
    trace.set_tracer_provider(provider)
    _state["provider"] = provider
    log.info("tracing on: exporter %s, service %s", exporter, name)
    return provider


def _strip_queries(span: Any) -> None:
    attributes = getattr(span, "attributes", None) or {}
    for name in _URL_ATTRIBUTES:
        value = attributes.get(name)
        if isinstance(value, str) and "?" in value:
            span.set_attribute(name, value.split("?", 1)[0])
    for name in _QUERY_ATTRIBUTES:
        if name in attributes:
            span.set_attribute(name, "")


def _request_hook(span: Any, _request: Any) -> None:
    """Both ends (the served request, each call to WeChat): no query strings, the request id."""
    if span is None or not span.is_recording():
        return
    _strip_queries(span)
    request_id = current_request_id()
    if request_id:
        span.set_attribute("bff.request_id", request_id)
