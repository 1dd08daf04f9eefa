"""Operator endpoints of the catalogue: cards, their stock, the member card's activation form,
and WeChat's card data."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from bff.domain import card_data, catalogue
from bff.edges.admin.card_schemas import CardChangeSchema, CardCreateSchema
from bff.edges.admin.catalogue_schemas import (
    ActivationFormSchema,
    CardCreatedSchema,
    CardIdsQuerySchema,
    CardIdsSchema,
    CardViewSchema,
    SendCheckSchema,
    StockSchema,
    WeChatStatsQuerySchema,
    WeChatStatsSchema,
)
from bff.edges.http.admin_auth import MARKETING, admin_blueprint, operation
from bff.edges.http.fields import CARD_ID
from bff.edges.http.idempotency import IdempotencyKeySchema
from bff.edges.http.openapi import (
    CARD_CALL_FAILURES,
    ONCE_ANSWERS,
    UNKNOWN_CARD_ANSWER,
    UPSTREAM_FAILURES,
)
from bff.ground.errors import Unprocessable
from bff.ground.services import services

blp = admin_blueprint("admin-catalogue", __name__,
                      "Operators: the card catalogue, activation forms and WeChat's card data")
ONCE_CONFLICT = ("the first attempt with this Idempotency-Key reached WeChat and its answer "
                 "was lost (WeChat cannot confirm it): check the card, then use a new key")


def _card_id(card_id: str) -> str:
    try:
        CARD_ID(card_id)
    except Exception:
        raise Unprocessable("not a card_id") from None
    return card_id


@blp.route("/cards")
class Cards(MethodView):
    @blp.arguments(CardCreateSchema)
    @blp.arguments(IdempotencyKeySchema, location="headers")
    @operation(blp, (201, CardCreatedSchema),
               errors={409: ONCE_CONFLICT,
                       422: "the card breaks one of WeChat's rules (errors names the field), or "
                            "the Idempotency-Key was used for another card"},
               fallbacks=(ONCE_ANSWERS, UPSTREAM_FAILURES), roles=(MARKETING,))
    def post(self, data: dict[str, Any], headers: dict[str, Any]) -> dict[str, Any]:
        """Create a card (WeChat's card/create body); it waits for WeChat's review

        Coupons (GROUPON, CASH, DISCOUNT, GIFT, GENERAL_COUPON) and MEMBER_CARD, including the
        Mini Program activation flow (wx_activate, wx_activate_after_submit,
        activate_app_brand_user_name / _pass). Checked against WeChat's rules first.
        """
        svc = services()
        return {"card_id": catalogue.create_card(svc.redis, svc.wechat, data["card"],
                                                 headers["key"])}

    @blp.arguments(CardIdsQuerySchema, location="query")
    @operation(blp, (200, CardIdsSchema), fallbacks=(UPSTREAM_FAILURES,), roles=(MARKETING,))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """The Official Account's card ids, a page at a time (card/batchget, ≤ 50)"""
        return catalogue.list_cards(services().wechat, args["offset"], args["count"],
                                    args.get("status"))


@blp.route("/cards/<card_id:card_id>")
class Card(MethodView):
    @operation(blp, (200, CardViewSchema), errors={422: "not a card_id"},
               fallbacks=CARD_CALL_FAILURES, roles=(MARKETING,))
    def get(self, card_id: str) -> dict[str, Any]:
        """The card as WeChat has it, with its review state and any low-stock alert"""
        svc = services()
        return catalogue.get_card(svc.redis, svc.wechat, _card_id(card_id))

    @blp.arguments(CardChangeSchema)
    @operation(blp, (200, SendCheckSchema),
               errors={409: "the card is deleted (40078)",
                       422: "a field card/update cannot change, or one that is not of this "
                            "card's type"},
               fallbacks=CARD_CALL_FAILURES, roles=(MARKETING,))
    def patch(self, data: dict[str, Any], card_id: str) -> dict[str, Any]:
        """Change a card (card/update): base_info and type fields that WeChat lets change

        send_check true: the change went back to review, and the card cannot be issued until
        WeChat approves it again.
        """
        svc = services()
        return catalogue.update_card(svc.redis, svc.wechat, _card_id(card_id), data)

    @operation(blp, 204, errors={422: "not a card_id"},
               fallbacks=CARD_CALL_FAILURES, roles=(MARKETING,))
    def delete(self, card_id: str) -> None:
        """Delete a card (card/delete); codes already received stay in users' card packages"""
        svc = services()
        catalogue.delete_card(svc.redis, svc.wechat, _card_id(card_id))


@blp.route("/cards/<card_id:card_id>/stock")
class Stock(MethodView):
    @blp.arguments(StockSchema)
    @blp.arguments(IdempotencyKeySchema, location="headers")
    @operation(blp, (200, StockSchema),
               errors={409: "less stock left than delta takes away (45031); " + ONCE_CONFLICT,
                       422: "delta is 0 or not an integer, or the Idempotency-Key was used for "
                            "another change"},
               fallbacks=(UNKNOWN_CARD_ANSWER, ONCE_ANSWERS, UPSTREAM_FAILURES),
               roles=(MARKETING,))
    def post(self, data: dict[str, Any], headers: dict[str, Any],
             card_id: str) -> dict[str, Any]:
        """Add (delta > 0) or take away (delta < 0) stock (card/modifystock)

        Send an Idempotency-Key to make a retry safe: a stock change is not idempotent.
        """
        svc = services()
        return catalogue.change_stock(svc.redis, svc.wechat, _card_id(card_id), data["delta"],
                                      headers["key"])


@blp.route("/cards/<card_id:card_id>/activation-form")
class ActivationForm(MethodView):
    @blp.arguments(ActivationFormSchema)
    @operation(blp, (200, ActivationFormSchema),
               errors={422: "an unknown field, a field asked twice, or not a member card"},
               fallbacks=CARD_CALL_FAILURES, roles=(MARKETING,))
    def put(self, data: dict[str, Any], card_id: str) -> dict[str, Any]:
        """Set the member card's activation form (activateuserform/set)

        required_form / optional_form: WeChat's common fields (USER_FORM_INFO_FLAG_*), custom
        fields, and rich fields (radio, select, check box); service_statement and
        bind_old_card links. The activation plug-in shows exactly this form.
        """
        svc = services()
        return catalogue.set_activation_form(svc.redis, svc.wechat, _card_id(card_id), data)

    @operation(blp, (200, ActivationFormSchema),
               errors={404: "no form was set through the service", 422: "not a card_id"},
               roles=(MARKETING,))
    def get(self, card_id: str) -> dict[str, Any]:
        """The activation form last set through the service"""
        return catalogue.get_activation_form(services().redis, _card_id(card_id))


@blp.route("/stats/wechat")
class WeChatStats(MethodView):
    @blp.arguments(WeChatStatsQuerySchema, location="query")
    @operation(blp, (200, WeChatStatsSchema),
               errors={422: "not a date YYYY-MM-DD, or card_id without kind=card"},
               fallbacks=(UPSTREAM_FAILURES,), roles=(MARKETING,))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """WeChat's card data (datacube) by day: account summary, per card, member cards

        Ranges longer than WeChat's 62 days are asked for in pieces. Days WeChat has not
        finished computing (today; yesterday until WeChat has it) have computed: false.
        ``from`` after ``to`` is an empty range. At most 366 days are answered at a time:
        ``next_from`` then says where the rest starts.
        """
        start, end, next_from = card_data.day_range(args.get("from_"), args.get("to"))
        if args.get("card_id") and args["kind"] != "card":
            raise Unprocessable("card_id goes with kind=card")
        rows = card_data.wechat_card_rows(services().wechat, args["kind"], start, end,
                                          card_id=args.get("card_id"),
                                          cond_source=args["cond_source"])
        return {"rows": rows, "next_from": next_from}
