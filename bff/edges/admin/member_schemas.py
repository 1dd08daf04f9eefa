"""Request and response bodies of member changes, member lookup and code administration."""

from __future__ import annotations

from typing import Any

from marshmallow import (
    EXCLUDE,
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates_schema,
)

from bff.edges.http.fields import CARD_ID
from bff.edges.http.openapi import at_least_one_of

CODE = validate.Regexp(r"^[\x21-\x7e]{1,128}$", error="1-128 visible ASCII characters")
AMOUNT = validate.Range(-100_000_000, 100_000_000)
TOTAL = validate.Range(0, 1_000_000_000)
RECORD = validate.Length(1, 64)
CUSTOM_FIELD_BYTES = 12


def _custom_value(value: str) -> None:
    if len(value.encode("utf-8")) > CUSTOM_FIELD_BYTES:
        raise ValidationError(f"at most {CUSTOM_FIELD_BYTES} bytes (UTF-8)")


class NotifySchema(Schema):
    bonus = fields.Bool(metadata={"description": "send the bonus-change message (default yes)"})
    balance = fields.Bool(metadata={"description": "send the balance-change message"})


def _slot() -> fields.Str:
    return fields.Str(validate=[validate.Length(max=CUSTOM_FIELD_BYTES), _custom_value])


class CustomFieldValuesSchema(Schema):
    """``{"1": ..., "2": ..., "3": ...}``: the card's custom fields 1-3."""

    slot1 = _slot()
    slot2 = _slot()
    slot3 = _slot()

    def on_bind_field(self, field_name: str, field_obj: fields.Field) -> None:
        field_obj.data_key = field_name.removeprefix("slot")

    @post_load
    def _by_slot(self, data: dict[str, Any], **_: Any) -> dict[str, str]:
        return {name.removeprefix("slot"): value for name, value in data.items()}


class MemberChangeSchema(Schema):
    """What card/membercard/updateuser changes; bonus in points, balance in fen."""

    class Meta:
        openapi: dict[str, Any] = {}  # at least one change: set below, from the fields

    add_bonus = fields.Int(strict=True, validate=AMOUNT,
                           metadata={"description": "points to add (negative: spend)"})
    bonus = fields.Int(strict=True, validate=TOTAL,
                       metadata={"description": "the new total; with add_bonus, add_bonus is "
                                                "what the message reports"})
    record_bonus = fields.Str(validate=RECORD, metadata={"description": "why, shown to the user"})
    add_balance = fields.Int(strict=True, validate=AMOUNT,
                             metadata={"description": "fen to add (negative: spend)"})
    balance = fields.Int(strict=True, validate=TOTAL, metadata={"description": "the new total"})
    record_balance = fields.Str(validate=RECORD)
    custom_field_values = fields.Nested(
        CustomFieldValuesSchema,
        metadata={"description": "custom_field_value1..3 by slot, ≤12 bytes (UTF-8) each"})
    background_pic_url = fields.Str(validate=[
        validate.Length(1, 512),
        validate.Regexp(r"^https?://[\x21-\x7e]+$", error="an http(s) URL")])
    notify = fields.Nested(NotifySchema)
    by = fields.Str(validate=validate.Length(1, 64), load_default="operator",
                    metadata={"description": "who makes the change, kept in the ledger for the "
                                             "break-glass BFF_ADMIN_TOKEN only; an operator "
                                             "account's changes name the account"})

    @validates_schema
    def _something(self, data: dict[str, Any], **_: Any) -> None:
        if not any(data.get(k) not in (None, {}) for k in data if k != "by"):
            raise ValidationError("give at least one field to change", "_schema")


MemberChangeSchema.Meta.openapi = at_least_one_of(
    (f.data_key or name for name, f in MemberChangeSchema._declared_fields.items()
     if name != "by"),
    objects=("custom_field_values", "notify"))


class MemberChangeResultSchema(Schema):
    change_id = fields.Str(required=True)
    result_bonus = fields.Int(required=True)
    result_balance = fields.Int(required=True)


class ChangeSchema(Schema):
    change_id = fields.Str()
    key = fields.Str(allow_none=True, metadata={"description": "the Idempotency-Key (API only)"})
    at = fields.Float(metadata={"description": "epoch seconds"})
    by = fields.Str()
    source = fields.Str(metadata={"description": "api (this service) or wechat (made "
                                                 "elsewhere, seen in an update_member_card push)"})
    state = fields.Str(metadata={"description": "done, pending (running) or uncertain (the "
                                                "answer was lost; awaiting WeChat's push)"})
    add_bonus = fields.Int(allow_none=True)
    bonus = fields.Int(allow_none=True)
    record_bonus = fields.Str(allow_none=True)
    add_balance = fields.Int(allow_none=True)
    balance = fields.Int(allow_none=True)
    record_balance = fields.Str(allow_none=True)
    before_bonus = fields.Int(allow_none=True)
    before_balance = fields.Int(allow_none=True)
    result_bonus = fields.Int(allow_none=True)
    result_balance = fields.Int(allow_none=True)
    event_id = fields.Str(allow_none=True, metadata={
        "description": "the update_member_card event that confirmed it"})


class ChangesSchema(Schema):
    changes = fields.List(fields.Nested(ChangeSchema), required=True)


class MembersQuerySchema(Schema):
    """The criteria to look for; a member matches when it meets every one given."""

    class Meta:
        unknown = EXCLUDE

    code = fields.Str(validate=CODE)
    membership_number = fields.Str(validate=validate.Length(1, 20))
    oa_openid = fields.Str(validate=validate.Length(1, 64))


class MemberSchema(Schema):
    card_id = fields.Str()
    code = fields.Str()
    oa_openid = fields.Str()
    mp_openid = fields.Str()
    membership_number = fields.Str()
    source = fields.Str()
    activated_at = fields.Int()
    updated_at = fields.Int()


class MemberFormSchema(MemberSchema):
    fields = fields.Dict(required=True, metadata={
        "description": "what the member filled in at activation (WeChat's form: name, mobile, "
                       "the card's own fields), unsealed for this answer"})


class MembersSchema(Schema):
    members = fields.List(fields.Nested(MemberSchema), required=True)


class UnavailableRequestSchema(Schema):
    card_id = fields.Str(required=True, validate=CARD_ID)
    code = fields.Str(required=True, validate=CODE)
    reason = fields.Str(validate=validate.Length(1, 128))


class UnavailableSchema(Schema):
    card_id = fields.Str()
    code = fields.Str()
    user_card_status = fields.Str()


class CodeUpdateRequestSchema(Schema):
    card_id = fields.Str(required=True, validate=CARD_ID)
    code = fields.Str(required=True, validate=CODE)
    new_code = fields.Str(required=True, validate=CODE)


class CodeUpdateSchema(Schema):
    card_id = fields.Str()
    code = fields.Str(metadata={"description": "the new code"})
    old_code = fields.Str()
    holding_moved = fields.Bool(metadata={"description": "a recorded holding moved with it"})


class UserCardsQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    card_id = fields.Str(validate=CARD_ID)


class UserCardSchema(Schema):
    card_id = fields.Str()
    code = fields.Str()


class UserCardsSchema(Schema):
    cards = fields.List(fields.Nested(UserCardSchema), required=True,
                        metadata={"description": "WeChat's card_list"})
    recorded = fields.Int(metadata={"description": "holdings recorded or corrected from it"})
    not_in_wechat = fields.List(fields.Str(), metadata={
        "description": "codes the index holds as NORMAL for this user that WeChat no longer "
                       "lists (used, deleted or expired outside the service)"})
