"""Operator endpoints for custom codes (deposit, count, check) and counter redemption."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from bff.domain import redemption
from bff.domain.codes import custom as codes
from bff.domain.operators import BREAK_GLASS
from bff.domain.ownership import resolve_code
from bff.edges.admin.schemas import (
    CheckResultSchema,
    CodeInfoSchema,
    CodeRefSchema,
    CodesSchema,
    CountSchema,
    DepositResultSchema,
    RedeemRequestSchema,
    RedemptionSchema,
)
from bff.edges.http.admin_auth import (
    MARKETING,
    STAFF,
    admin_blueprint,
    current_operator,
    operation,
    roles,
)
from bff.edges.http.idempotency import IdempotencyKeySchema
from bff.edges.http.openapi import (
    CARD_CALL_FAILURES,
    REDEMPTION_ANSWERS,
    UPSTREAM_FAILURES,
    documents,
)
from bff.ground.services import services

blp = admin_blueprint("admin-codes", __name__,
                      "Operators: custom codes and redemption at the counter")


@blp.route("/cards/<card_id:card_id>/codes")
class Codes(MethodView):
    @blp.arguments(CodesSchema)
    @operation(blp, (200, DepositResultSchema),
               errors={422: "0 or more than 100 codes, blank or repeated codes"},
               fallbacks=CARD_CALL_FAILURES, roles=(MARKETING,))
    def post(self, data: dict[str, Any], card_id: str) -> dict[str, Any]:
        """Deposit up to 100 custom codes (one card/code/deposit); files: ``bff codes import``"""
        return codes.deposit(services().wechat, card_id, data["codes"])


@blp.route("/cards/<card_id:card_id>/codes/count")
class CodesCount(MethodView):
    @operation(blp, (200, CountSchema), fallbacks=CARD_CALL_FAILURES, roles=(MARKETING,))
    def get(self, card_id: str) -> dict[str, Any]:
        """Number of custom codes deposited for the card"""
        return {"count": codes.deposit_count(services().wechat, card_id)}


@blp.route("/cards/<card_id:card_id>/codes/check")
class CodesCheck(MethodView):
    @blp.arguments(CodesSchema)
    @operation(blp, (200, CheckResultSchema), fallbacks=CARD_CALL_FAILURES, roles=(MARKETING,))
    def post(self, data: dict[str, Any], card_id: str) -> dict[str, Any]:
        """Which of up to 100 codes WeChat holds for the card"""
        return codes.check(services().wechat, card_id, data["codes"])


@blp.route("/codes/query")
class CodeQuery(MethodView):
    @blp.arguments(CodeRefSchema)
    @operation(blp, (200, CodeInfoSchema),
               errors={404: "unknown code (40056)",
                       409: "already redeemed (40099), deleted or being gifted (40127)"},
               fallbacks=(UPSTREAM_FAILURES,), roles=(STAFF,))
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Query a code before redemption (check_consume): who holds it, can it be used"""
        svc = services()
        code = resolve_code(svc.redis, svc.wechat, code=data.get("code"),
                            encrypt_code=data.get("encrypt_code"))
        return redemption.query_for_counter(svc.redis, svc.wechat, code, data.get("card_id"))


@blp.route("/codes/redeem")
class CodeRedeem(MethodView):
    @blp.arguments(IdempotencyKeySchema, location="headers")
    @blp.arguments(RedeemRequestSchema)
    @blp.response(200, RedemptionSchema)
    @documents(REDEMPTION_ANSWERS, own=True)
    @documents(UPSTREAM_FAILURES)
    @roles(STAFF)
    def post(self, headers: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        """Redeem a code at the counter: query, then consume once (ledgered)

        Send an ``Idempotency-Key``: a retry with the same key (many at once included) gets the
        first answer and WeChat sees one consume. Any other attempt on a redeemed code, with
        another key or none, is 409 saying when, where and through which channel it was redeemed.
        The ledger names the operator account that redeemed (``operator``); ``staff_id`` is
        recorded only for the break-glass ``BFF_ADMIN_TOKEN``.
        """
        svc = services()
        operator = current_operator()
        account = operator.name != BREAK_GLASS
        code = resolve_code(svc.redis, svc.wechat, code=data.get("code"),
                            encrypt_code=data.get("encrypt_code"))
        return redemption.redeem_once(
            svc.redis, svc.wechat, card_id=data.get("card_id"), code=code,
            staff_id=None if account else data.get("staff_id"), operator=operator.name,
            location=data.get("location"), channel="counter", idempotency_key=headers.get("key"),
        )
