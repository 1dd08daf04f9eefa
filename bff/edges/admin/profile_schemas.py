"""Card profiles (how the service treats a card: bind_openid, code mode, self-redemption,
membership numbers, initial bonus/balance) and the code pool's loads: operators' schemas."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from bff.edges.http.fields import Pattern, StrictBool

INT32_MAX = 2**31 - 1  # WeChat keeps bonus and balance as 32-bit integers
# codes per pool load: 500 codes of 64 characters stay well under the 64 KiB body limit
MAX_POOL_LOAD = 500
# a pooled code: WeChat's own code alphabet
POOL_CODE = Pattern(r"^[A-Za-z0-9_\-]{1,64}$", error="not a pool code (1-64 of A-Za-z0-9_-)")


class MembershipNumberSchema(Schema):
    mode = fields.Str(validate=validate.OneOf(("code", "sequence")))
    prefix = fields.Str(validate=validate.Length(max=16))
    width = fields.Int(strict=True, validate=validate.Range(min=0, max=20))


class ProfileSchema(Schema):
    card_id = fields.Str(dump_only=True)
    bind_openid = StrictBool()
    code_mode = fields.Str(validate=validate.OneOf(("none", "deposit", "pool")))
    self_redeem = StrictBool()
    membership_number = fields.Nested(MembershipNumberSchema)
    init_bonus = fields.Int(strict=True, validate=validate.Range(min=0, max=INT32_MAX))
    init_bonus_record = fields.Str(validate=validate.Length(max=128))
    init_balance = fields.Int(strict=True, validate=validate.Range(min=0, max=INT32_MAX))
    background_pic_url = fields.Str(validate=validate.Length(max=512))
    review_state = fields.Str(dump_only=True)
    review_reason = fields.Str(dump_only=True, allow_none=True)
    defined_code = fields.Str(dump_only=True, metadata={"description": (
        "the codes the card's definition gives, once the service has seen it (created or read "
        "through /v1/admin/cards): wechat, custom or deposit; then bind_openid and code_mode "
        "follow the definition and a PUT contradicting it is a 422; empty when never seen")})


class PoolLoadSchema(Schema):
    codes = fields.List(fields.Str(validate=POOL_CODE),
                        required=True, validate=validate.Length(min=1, max=MAX_POOL_LOAD),
                        metadata={"description": "a code repeated or already loaded is "
                                                 "counted in duplicates"})


class PoolLoadOutSchema(Schema):
    added = fields.Int(required=True)
    duplicates = fields.Int(required=True)
    available = fields.Int(required=True)
