"""Member-card endpoints: activation plug-in parameters, activation, member info, capabilities."""

from __future__ import annotations

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint

from bff.domain.members.activation import activate_member_card
from bff.domain.members.capabilities import capabilities
from bff.domain.members.info import member_info
from bff.domain.members.plugin import activation_plugin
from bff.edges.http.openapi import (
    NOT_ISSUABLE_ANSWER,
    ONCE_ANSWERS,
    UNKNOWN_CARD_ANSWER,
    UPSTREAM_FAILURES,
    documents,
)
from bff.edges.http.quota import spends_quota
from bff.edges.http.user_auth import current_user, user_required
from bff.edges.membership.schemas import (
    ActivateRequestSchema,
    ActivationSchema,
    CapabilitiesQuerySchema,
    CapabilitiesSchema,
    MemberInfoSchema,
    PluginRequestSchema,
    PluginSchema,
)
from bff.ground.services import services

blp = Blueprint("membership", __name__, url_prefix="/v1",
                description="Member cards: activation plug-in, activation, member info")



@blp.route("/membership/activation-plugin")
class ActivationPlugin(MethodView):
    @blp.arguments(PluginRequestSchema)
    @blp.response(200, PluginSchema)
    @blp.alt_response(422, description="not a member card (47001), or an invalid body")
    @documents(NOT_ISSUABLE_ANSWER, UNKNOWN_CARD_ANSWER, UPSTREAM_FAILURES)
    @user_required
    @spends_quota
    def post(self, data: dict) -> dict:
        """Parameters for wx.navigateToMiniProgram to WeChat's card activation plug-in"""
        svc = services()
        # No cardExt proof here: the plug-in's URL can be opened by anyone it is shared with.
        return activation_plugin(svc.redis, svc.wechat, data["card_id"], data["outer_str"])


@blp.route("/membership/activate")
class Activate(MethodView):
    @blp.arguments(ActivateRequestSchema)
    @blp.response(200, ActivationSchema)
    @blp.alt_response(403, description="the code belongs to another user")
    @blp.alt_response(404, description="unknown code, or not a code of this card")
    @blp.alt_response(409, description="the card was deleted / is being given away, or its "
                                        "receipt has not reached the service yet (retry)")
    @blp.alt_response(422, description="72012: the activate_ticket is expired or not valid "
                                       "(open the plug-in again), the ticket already used for "
                                       "another card, or an invalid body")
    @documents(ONCE_ANSWERS, UPSTREAM_FAILURES)
    @user_required
    @spends_quota
    def post(self, data: dict) -> dict:
        """Activate the caller's member card with the plug-in's activate_ticket (idempotent)"""
        return activate_member_card(
            services(), current_user(),
            activate_ticket=data["activate_ticket"], card_id=data["card_id"],
            code=data.get("code"), encrypt_code=data.get("encrypt_code"),
        )


@blp.route("/membership/cards/<wx_card_id:card_id>")
class MemberCard(MethodView):
    @blp.response(200, MemberInfoSchema)
    @blp.alt_response(403, description="the member card belongs to another user")
    @blp.alt_response(404, description="the caller holds no card of this kind")
    @documents(UPSTREAM_FAILURES)
    @user_required
    @spends_quota
    def get(self, card_id: str) -> dict:
        """The caller's member-card info: number, bonus, balance, status, form fields"""
        return member_info(services(), current_user(), card_id)


@blp.route("/capabilities")
class Capabilities(MethodView):
    @blp.arguments(CapabilitiesQuerySchema, location="query")
    @blp.response(200, CapabilitiesSchema)
    def get(self, query: dict) -> dict:
        """What the user's WeChat supports (cards, activation plug-in), from its User-Agent"""
        return capabilities(query["ua"] or request.headers.get("User-Agent", ""))
