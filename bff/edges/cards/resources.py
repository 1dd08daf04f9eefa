"""Mini Program / H5 card endpoints: add-card and choose-card signing, wx.config, codes."""

from __future__ import annotations

from flask import Flask
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
from bff.edges.http.bearer import bearer_token
from bff.edges.http.fast_path import (
    FastJsonView,
    environ_json_body,
    json_encoder,
    json_text,
)
from bff.edges.http.idempotency import IdempotencyKeySchema
from bff.edges.http.openapi import REDEMPTION_ANSWERS, UPSTREAM_FAILURES, documents
from bff.edges.http.quota import spending, spends_quota
from bff.edges.http.service_app import FOUND, DirectAnswer, DirectRoute
from bff.edges.http.user_auth import current_user, session_user, user_required
from bff.ground.services import services

blp = Blueprint("cards", __name__, url_prefix="/v1", description="Cards for their holders")


def _sign(data: dict) -> dict:
    return {"card_list": signing.add_card(services(), current_user(), data["cards"])}


_ADD_CARD_OUT = CardListSchema()


def add_card_directly(app: Flask) -> DirectRoute:
    """``POST /v1/cards/add-card`` as a direct route of ``app`` (``ServiceFlask``): a caller
    with a live session and a body the fast load takes (``AddCard``'s fast path) is signed
    for from the WSGI environ, without Flask's request machinery, which was four fifths of
    add-card's CPU in process (issue 18). The same session check, quota guard, signing and
    answer as the view; anything else goes to the view as it came (the body put back): no
    session (its 401), another body (400/415/422), an ``Origin`` (CORS is flask-cors's), a
    query string; and when the signing raised, the view answers that exception (``FOUND``)
    without signing or charging the quota again."""

    def route(environ: dict) -> DirectAnswer | None:
        encoder = json_encoder(app)  # None: another JSON provider, the view's jsonify
        if environ.get("QUERY_STRING") or "HTTP_ORIGIN" in environ or encoder is None:
            return None
        svc = services(app)
        user = session_user(svc, bearer_token(environ))
        if user is None:
            return None
        body = environ_json_body(environ, svc.settings.max_body_bytes)
        data = AddCard.fast_load(body) if type(body) is dict else None
        if data is None:
            return None
        try:
            with spending(svc, lambda: environ.get("REMOTE_ADDR") or "unknown", user):
                signed = {"card_list": signing.add_card(svc, user, data["cards"])}
        except Exception as e:  # noqa: BLE001 - the view answers it, with the one error shape
            environ[FOUND] = e
            return None
        return DirectAnswer(json_text(encoder, _ADD_CARD_OUT.dump(signed)).encode(),
                            "application/json")

    return route


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
    @spends_quota(ahead=True)  # its first read is the decrypted answer's cache
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
