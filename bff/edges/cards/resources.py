"""Mini Program / H5 card endpoints: add-card and choose-card signing, wx.config, codes."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from bff.domain.card_package import refresh_when_missing
from bff.domain.cards import codes, redeem, signing
from bff.domain.channel_stats import count_link_open
from bff.edges.cards.schemas import (
    AddCardSchema,
    CardListSchema,
    ChooseCardOutSchema,
    ChooseCardSchema,
    CodeSchema,
    DecryptSchema,
    JssdkConfigOutSchema,
    JssdkConfigSchema,
    MineSchema,
    RedeemOutSchema,
    RedeemSchema,
    fast_add_card,
)
from bff.edges.http.fast_path import FastJsonView
from bff.edges.http.idempotency import IdempotencyKeySchema
from bff.edges.http.openapi import REDEMPTION_ANSWERS, UPSTREAM_FAILURES, documents
from bff.edges.http.quota import spends_quota
from bff.edges.http.user_auth import current_user, user_required
from bff.ground.services import services

blp = Blueprint("cards", __name__, url_prefix="/v1", description="Cards for their holders")


def _sign(data: dict) -> dict:
    return {"card_list": signing.add_card(services(), current_user(), data["cards"])}


@blp.route("/cards/add-card")
class AddCard(FastJsonView):
    # The hot path (every wx.addCard): a well-formed body skips flask-smorest's and webargs'
    # wrappers, with the same checks (bff.edges.http.fast_path); the decorated ``post`` is the
    # spec and answers everything else.
    # The gate has authenticated the caller for ``post`` (its @user_required mark) before any
    # view runs, and ``_sign`` asks current_user(), which authenticates again if it had not.
    fast_schema = CardListSchema()
    fast_load = staticmethod(fast_add_card)
    fast_call = staticmethod(spends_quota(_sign))

    @blp.arguments(AddCardSchema())
    @blp.response(200, CardListSchema)
    @blp.alt_response(409, description="bind_openid card and the caller's OA openid is unknown, "
                                       "the card's code pool is empty, or the card has not "
                                       "passed WeChat's review (or was refused, or deleted)")
    @documents(UPSTREAM_FAILURES)
    @user_required
    @spends_quota
    def post(self, data: dict) -> dict:
        """Sign a wx.addCard cardList (1..10 cards)

        Each cardExt has its own nonce and timestamp and is signed with the wx_card ticket;
        pass it to wx.addCard unchanged.
        """
        return _sign(data)


@blp.route("/cards/choose-card")
class ChooseCard(MethodView):
    @blp.arguments(ChooseCardSchema())
    @blp.response(200, ChooseCardOutSchema)
    @documents(UPSTREAM_FAILURES)
    @user_required
    def post(self, data: dict) -> dict:
        """Parameters and cardSign for wx.chooseCard (JS-SDK)"""
        svc = services()
        return signing.choose_card(svc.wechat.credentials, svc.settings, data)


@blp.route("/jssdk/config")
class JssdkConfig(MethodView):
    @blp.arguments(JssdkConfigSchema())
    @blp.response(200, JssdkConfigOutSchema)
    @blp.alt_response(403, description="the page's host is not in BFF_JSSDK_HOSTS")
    @documents(UPSTREAM_FAILURES)
    @user_required
    def post(self, data: dict) -> dict:
        """wx.config signature for a page URL (jsapi ticket; fragment dropped)"""
        svc = services()
        return signing.jssdk_config(svc.wechat.credentials, svc.settings, data["url"])


@blp.route("/cards/codes/decrypt")
class Decrypt(MethodView):
    @blp.arguments(DecryptSchema())
    @blp.response(200, CodeSchema)
    @blp.alt_response(403, description="the code belongs to another user")
    @blp.alt_response(404, description="no code matches the encrypt_code, or not a code of "
                                       "card_id")
    @documents(UPSTREAM_FAILURES)
    @user_required
    @spends_quota
    def post(self, data: dict) -> dict:
        """Decrypt an encrypt_code (wx.addCard, card entry URL) for the code's owner"""
        svc = services()
        answer = codes.decrypt_for_owner(svc, current_user(),
                                         data["encrypt_code"], data.get("card_id"))
        if data.get("outer_str"):  # a card link's channel (member cards)
            count_link_open(svc, answer["card_id"], answer["code"], data["outer_str"])
        return answer


@blp.route("/cards/mine")
class Mine(MethodView):
    @blp.response(200, MineSchema)
    @user_required
    def get(self) -> dict:
        """The caller's cards with real codes, ready for wx.openCard

        When none is recorded yet, WeChat's view of the caller's card package (getcardlist,
        at most once a minute) fills the index first.
        """
        svc, user = services(), current_user()
        cards = codes.my_cards(svc.redis, user)
        if not cards and refresh_when_missing(svc.redis, svc.wechat, user.oa_openid):
            cards = codes.my_cards(svc.redis, user)
        return {"cards": cards}


@blp.route("/cards/codes/redeem")
class Redeem(MethodView):
    @blp.arguments(IdempotencyKeySchema, location="headers")
    @blp.arguments(RedeemSchema())
    @blp.response(200, RedeemOutSchema)
    @blp.alt_response(403, description="the card does not allow self-redemption, or the code "
                                       "is another user's")
    @documents(REDEMPTION_ANSWERS, own=True)
    @documents(UPSTREAM_FAILURES)
    @user_required
    @spends_quota
    def post(self, headers: dict, data: dict) -> dict:
        """Redeem the caller's own code (where the card allows it), once

        Send an ``Idempotency-Key``: a retry with the same key gets the first answer; any other
        attempt on a redeemed code is 409 saying when and through which channel.
        """
        svc = services()
        return redeem.redeem_own_code(svc, current_user(), card_id=data["card_id"],
                                      code=data.get("code"),
                                      encrypt_code=data.get("encrypt_code"),
                                      idempotency_key=headers.get("key"))
