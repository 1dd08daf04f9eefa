"""Operator endpoints for card messages: broadcasts, their previews and status, and
customer-service card messages (the rules: ``bff.domain.broadcasts``)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from bff.domain import broadcasts
from bff.edges.admin.broadcast_schemas import (
    BroadcastRequestSchema,
    BroadcastSchema,
    BroadcastSentSchema,
    CardMessageRequestSchema,
    CardMessageSchema,
    PreviewRequestSchema,
    PreviewSchema,
)
from bff.edges.http.admin_auth import MARKETING, admin_blueprint, operation, roles
from bff.edges.http.openapi import UPSTREAM_FAILURES, documents
from bff.edges.http.request_guard import body_limit
from bff.ground.services import services

blp = admin_blueprint("admin-broadcasts", __name__,
                      "Operators: card messages (broadcasts, previews, customer service)")

BROADCAST_BODY_BYTES = 1024 * 1024  # 10,000 openids of up to 64 characters, with room
NOT_SENDABLE = ("the card cannot go out in a message: not yet reviewed, refused or deleted; "
                "custom codes not imported (deposit mode with codes deposited); no stock")
UNKNOWN = "unknown card_id (40073), or a follower, tag or WeChat ID the Official Account " \
          "does not have (40003, 40050, 40132)"


@blp.route("/broadcasts")
class Broadcasts(MethodView):
    @body_limit(BROADCAST_BODY_BYTES)
    @blp.arguments(BroadcastRequestSchema)
    @blp.response(201, BroadcastSentSchema)
    @blp.alt_response(200, schema=BroadcastSentSchema,
                      description="this client_msg_id was sent before (same card and "
                                  "audience): the first broadcast, replayed: true; nothing "
                                  "is sent")
    @blp.alt_response(404, description=UNKNOWN)
    @blp.alt_response(409, description=NOT_SENDABLE + "; or the first send with this "
                                                      "client_msg_id is still running (retry)")
    @blp.alt_response(422, description="no audience or more than one, an openid list of fewer "
                                       "than 2 or more than 10,000 (or with repeats), or a "
                                       "client_msg_id already used for another card or "
                                       "audience")
    @documents(UPSTREAM_FAILURES)
    @roles(MARKETING)
    def post(self, data: dict[str, Any]) -> Any:
        """Broadcast a card message: to every follower or a tag (message/mass/sendall), or to
        2-10,000 openids (message/mass/send)

        ``client_msg_id`` (sent to WeChat as ``clientmsgid``) makes a repeat a no-op: the same
        card and audience again are answered 200 with the first broadcast and
        ``replayed: true``. Follow it with ``GET /v1/admin/broadcasts/{broadcast_id}``.
        """
        svc = services()
        answer, replayed = broadcasts.send(svc.redis, svc.wechat, data["card_id"], data["to"],
                                           data.get("client_msg_id"))
        answer = {**answer, "replayed": replayed}
        return (answer, 200) if replayed else answer


@blp.route("/broadcasts/<broadcast_id:broadcast_id>")
class Broadcast(MethodView):
    @operation(blp, (200, BroadcastSchema), errors={404: "no such broadcast (kept 90 days)"},
               fallbacks=(UPSTREAM_FAILURES,), roles=(MARKETING,))
    def get(self, broadcast_id: str) -> dict[str, Any]:
        """What became of a broadcast: WeChat's MASSSENDJOBFINISH counts once pushed, else
        message/mass/get's status"""
        svc = services()
        return broadcasts.status(svc.redis, svc.wechat, broadcast_id)


@blp.route("/broadcasts/preview")
class Preview(MethodView):
    @blp.arguments(PreviewRequestSchema)
    @operation(blp, (200, PreviewSchema),
               errors={404: UNKNOWN,
                       409: NOT_SENDABLE,
                       422: "neither or both of openid and wxname"},
               fallbacks=(UPSTREAM_FAILURES,), roles=(MARKETING,))
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Preview a card message on one follower's phone (message/mass/preview), by openid or
        WeChat ID"""
        svc = services()
        return broadcasts.preview(svc.redis, svc.wechat, data["card_id"],
                                  openid=data.get("openid"), wxname=data.get("wxname"))


@blp.route("/card-messages")
class CardMessages(MethodView):
    @blp.arguments(CardMessageRequestSchema)
    @operation(blp, (200, CardMessageSchema), errors={404: UNKNOWN, 409: NOT_SENDABLE},
               fallbacks=(UPSTREAM_FAILURES,), roles=(MARKETING,))
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Send one follower a customer-service card message (message/custom/send, wxcard)"""
        svc = services()
        return broadcasts.card_message(svc.redis, svc.wechat, data["openid"], data["card_id"])
