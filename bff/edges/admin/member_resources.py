"""Operator endpoints: member bonus/balance changes (once per Idempotency-Key), their ledger,
member lookup, and code administration (unavailable, update, a user's cards per WeChat)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from bff.domain.codes import admin as code_admin
from bff.domain.members import change_ledger, changes
from bff.domain.members.members import find_members, get_member
from bff.domain.operators import BREAK_GLASS
from bff.edges.admin.member_schemas import (
    ChangesSchema,
    CodeUpdateRequestSchema,
    CodeUpdateSchema,
    MemberChangeResultSchema,
    MemberChangeSchema,
    MemberFormSchema,
    MembersQuerySchema,
    MembersSchema,
    UnavailableRequestSchema,
    UnavailableSchema,
    UserCardsQuerySchema,
    UserCardsSchema,
)
from bff.edges.admin.operator_resources import audited_read
from bff.edges.http.admin_auth import (
    ADMIN,
    MARKETING,
    admin_blueprint,
    current_operator,
    operation,
    roles,
)
from bff.edges.http.idempotency import RequiredIdempotencyKeySchema
from bff.edges.http.openapi import UPSTREAM_FAILURES, documents
from bff.ground.errors import NotFound
from bff.ground.services import services

blp = admin_blueprint("admin-members", __name__,
                      "Operators: member bonus and balance, member lookup, code administration")


@blp.route("/members/<card_id:card_id>/<path_code:code>/changes")
class MemberChanges(MethodView):
    @blp.arguments(RequiredIdempotencyKeySchema, location="headers")
    @blp.arguments(MemberChangeSchema)
    @blp.response(201, MemberChangeResultSchema)
    @blp.alt_response(200, schema=MemberChangeResultSchema,
                      description="a retry (same Idempotency-Key, same body): the first answer, "
                                  "no second change")
    @blp.alt_response(404, description="no such member card code (40056)")
    @blp.alt_response(409, description="the card was deleted, given away or made unavailable")
    @blp.alt_response(422, description="invalid body, missing Idempotency-Key, the key used for "
                                       "another change, or WeChat refused the amounts")
    @blp.alt_response(503, description="another change to this member is running, or the first "
                                       "attempt's outcome is awaited; retry")
    @blp.alt_response(504, description="WeChat's answer was lost: retry with the same key (it "
                                       "is answered once WeChat confirms or the change is made)")
    @documents(UPSTREAM_FAILURES)
    @roles(ADMIN)
    def post(self, headers: dict[str, Any], data: dict[str, Any], card_id: str,
             code: str) -> Any:
        """Change a member's bonus and balance once (card/membercard/updateuser)

        ``Idempotency-Key`` is required: the same key with the same body is a retry and gets
        the first answer (200) without a second upstream call, however many arrive at once;
        the same key with another body is 422. Changes to one member run one at a time.
        """
        svc = services()
        operator = current_operator()
        by = data.pop("by")  # the ledger names the account; the typed name only for break-glass
        by = by if operator.name == BREAK_GLASS else operator.name
        answer, created = changes.change_member(svc.redis, svc.wechat, card_id=card_id,
                                                code=code, key=headers["key"], body=data, by=by,
                                                clock=svc.clock)
        # Two success statuses by contract: 201 made the change, 200 repeats its answer.
        return answer if created else (answer, 200)

    @operation(blp, (200, ChangesSchema), errors={422: "malformed card_id or code"},
               roles=(MARKETING,))
    def get(self, card_id: str, code: str) -> dict[str, Any]:
        """The member's ledger: every change, who, why, when, before and after, and its source"""
        return {"changes": change_ledger.ledger(services().redis, card_id, code)}


@blp.route("/members")
class Members(MethodView):
    @blp.arguments(MembersQuerySchema, location="query")
    @operation(blp, (200, MembersSchema),
               errors={404: "no criterion given (code, membership_number, oa_openid)",
                       422: "a criterion that is no code, membership number or openid"},
               roles=(MARKETING,))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Find members by code, membership number and Official Account openid

        A member matches when it meets every criterion given (any combination of them).
        """
        if not args:
            raise NotFound("give code, membership_number or oa_openid to find members by")
        svc = services()
        return {"members": find_members(svc.redis, svc.settings, **args)}


@blp.route("/members/<card_id:card_id>/<path_code:code>")
class MemberForm(MethodView):
    @operation(blp, (200, MemberFormSchema), errors={404: "no member with this card_id and code"},
               roles=())  # admin alone: personal data, and each read is in the audit
    def get(self, card_id: str, code: str) -> dict[str, Any]:
        """A member with what they filled in at activation (admin; the read is audited)

        ``GET /v1/admin/members`` finds members without their personal data; this one answer
        carries the form's values, and the audit records who read them.
        """
        svc = services()
        audited_read()
        member = get_member(svc.redis, svc.settings, card_id=card_id, code=code)
        if member is None:
            raise NotFound("no member with this card_id and code")
        return member.as_dict()


@blp.route("/codes/unavailable")
class CodeUnavailable(MethodView):
    @blp.arguments(UnavailableRequestSchema)
    @operation(blp, (200, UnavailableSchema),
               errors={404: "unknown code or card (40056, 40073)",
                       409: "already redeemed, deleted, given away or unavailable"},
               fallbacks=(UPSTREAM_FAILURES,), roles=(ADMIN,))
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Make a code unavailable, with a reason (card/code/unavailable); irreversible"""
        svc = services()
        return code_admin.make_unavailable(svc.redis, svc.wechat, card_id=data["card_id"],
                                           code=data["code"], reason=data.get("reason"))


@blp.route("/codes/update")
class CodeUpdate(MethodView):
    @blp.arguments(CodeUpdateRequestSchema)
    @operation(blp, (200, CodeUpdateSchema),
               errors={404: "unknown code or card, a WeChat-generated code, or new_code already "
                            "taken (40056, 40073)",
                       409: "the code is no longer usable"},
               fallbacks=(UPSTREAM_FAILURES,), roles=(ADMIN,))
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Change a custom code (card/code/update); the holdings index follows"""
        svc = services()
        return code_admin.change_code(svc,
                                      card_id=data["card_id"], code=data["code"],
                                      new_code=data["new_code"])


@blp.route("/users/<openid:oa_openid>/cards")
class UserCards(MethodView):
    @blp.arguments(UserCardsQuerySchema, location="query")
    @operation(blp, (200, UserCardsSchema),
               errors={404: "WeChat knows no such Official Account openid (40003)",
                       422: "malformed oa_openid or card_id"},
               fallbacks=(UPSTREAM_FAILURES,), roles=(MARKETING,))
    def get(self, args: dict[str, Any], oa_openid: str) -> dict[str, Any]:
        """A user's cards as WeChat sees them (card/user/getcardlist), reconciled into holdings"""
        svc = services()
        return code_admin.user_cards(svc.redis, svc.wechat, oa_openid, args.get("card_id"))
