"""Operations endpoints: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import os

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from bff.errors import ServiceUnavailable
from bff.extensions import services
from bff.metrics import REGISTRY
from bff.store import STORE_ERRORS

blp = Blueprint("ops", __name__, description="Operations: health, readiness, metrics")


class HealthSchema(Schema):
    status = fields.String(required=True)


class ReadySchema(Schema):
    status = fields.String(required=True)
    redis = fields.String(required=True)
    sandbox = fields.Boolean(required=True)


@blp.route("/healthz")
class Health(MethodView):
    @blp.response(200, HealthSchema)
    def get(self) -> dict:
        """Process is up"""
        return {"status": "ok"}


@blp.route("/readyz")
class Ready(MethodView):
    @blp.response(200, ReadySchema)
    @blp.alt_response(503, description="Redis is unreachable")
    def get(self) -> dict:
        """Ready to serve: Redis reachable and configuration loaded"""
        svc = services()
        try:
            svc.redis.ping()
        except STORE_ERRORS:
            raise ServiceUnavailable("Redis is unreachable", retry_after=5) from None
        return {"status": "ready", "redis": "ok", "sandbox": svc.settings.sandbox}


@blp.route("/metrics")
class Metrics(MethodView):
    @blp.response(200, content_type="text/plain")
    def get(self) -> Response:
        """Prometheus metrics (text exposition format)"""
        registry = REGISTRY
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            # Several gunicorn workers: add up every worker's values, not just this one's.
            registry = CollectorRegistry()
            MultiProcessCollector(registry)
        return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
