"""Operations endpoints: liveness, readiness and Prometheus metrics.

``/metrics`` needs ``Authorization: Bearer <BFF_METRICS_TOKEN>``; without that setting it does
not exist (404), except in sandbox mode, where it is open. Its figures (call rates, errcodes,
event counts) are the service's business, not the public's.
"""

from __future__ import annotations

import hmac

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields
from prometheus_client import CONTENT_TYPE_LATEST

from bff.edges.http.bearer import bearer_token
from bff.edges.http.openapi import METRICS_SCHEME, documents
from bff.ground import store
from bff.ground.errors import NotFound, ServiceUnavailable, Unauthorized
from bff.ground.metrics import exposition
from bff.ground.services import services
from bff.ground.store import STORE_ERRORS

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
            store.ping(svc.redis)
        except STORE_ERRORS:
            raise ServiceUnavailable("Redis is unreachable", retry_after=5) from None
        return {"status": "ready", "redis": "ok", "sandbox": svc.settings.sandbox}


def check_metrics_token() -> None:
    """404 without ``BFF_METRICS_TOKEN`` (open in sandbox mode); 401 without that token."""
    settings = services().settings
    expected = settings.metrics_token
    if not expected:
        if settings.sandbox:
            return
        raise NotFound("The requested URL was not found on the server.")
    token = bearer_token()
    if token is None or not hmac.compare_digest(token.encode(), expected.encode()):
        raise Unauthorized("a valid metrics token is required (Authorization: Bearer ...)")


@blp.route("/metrics")
class Metrics(MethodView):
    @blp.response(200, content_type="text/plain")
    @documents({401: "no valid metrics token (BFF_METRICS_TOKEN is set)",
                404: "BFF_METRICS_TOKEN is not set (outside sandbox mode)"},
               security=[{METRICS_SCHEME: []}, {}])
    def get(self) -> Response:
        """Prometheus metrics (text exposition format)

        ``Authorization: Bearer <BFF_METRICS_TOKEN>``. Without that setting the endpoint does
        not exist (404), except in sandbox mode, where it is open.
        """
        check_metrics_token()
        return Response(exposition(), content_type=CONTENT_TYPE_LATEST)
