"""Operator request and answer schemas of the catalogue around the card itself: listing, the
card view, stock, the activation form (``activateuserform/set``) and WeChat's card data."""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from bff.edges.admin.card_schemas import CARD_STATUSES, MAX_QUANTITY, flag, text
from bff.edges.http.fields import CARD_ID

COMMON_FORM_FIELDS = ("USER_FORM_INFO_FLAG_MOBILE", "USER_FORM_INFO_FLAG_SEX",
                      "USER_FORM_INFO_FLAG_NAME", "USER_FORM_INFO_FLAG_BIRTHDAY",
                      "USER_FORM_INFO_FLAG_IDCARD", "USER_FORM_INFO_FLAG_EMAIL",
                      "USER_FORM_INFO_FLAG_LOCATION", "USER_FORM_INFO_FLAG_EDUCATION_BACKGRO",
                      "USER_FORM_INFO_FLAG_INDUSTRY", "USER_FORM_INFO_FLAG_INCOME",
                      "USER_FORM_INFO_FLAG_HABIT")
RICH_FIELD_TYPES = ("FORM_FIELD_RADIO", "FORM_FIELD_SELECT", "FORM_FIELD_CHECK_BOX")


class CardCreatedSchema(Schema):
    card_id = fields.Str()


class SendCheckSchema(Schema):
    send_check = fields.Bool(metadata={"description": "true: the change goes back to review"})


# -- reading ---------------------------------------------------------------------------------

class CardIdsQuerySchema(Schema):
    offset = fields.Int(load_default=0, validate=validate.Range(0, 100_000))
    count = fields.Int(load_default=50, validate=validate.Range(1, 50))
    status = fields.List(fields.Str(validate=validate.OneOf(CARD_STATUSES)),
                         validate=validate.Length(max=len(CARD_STATUSES)),
                         metadata={"description": "repeat to ask for several statuses"})


class CardIdsSchema(Schema):
    card_ids = fields.List(fields.Str())
    total = fields.Int()


class StockAlertSchema(Schema):
    detail = fields.Str()
    at = fields.Int()


class CardViewSchema(Schema):
    card = fields.Dict(metadata={"description": "WeChat's card/get answer: card_type and the "
                                                "object named after it"})
    review_state = fields.Str(metadata={"description": "pending, approved, rejected, deleted"})
    review_reason = fields.Str(allow_none=True,
                               metadata={"description": "WeChat's RefuseReason"})
    stock_alert = fields.Nested(StockAlertSchema, allow_none=True,
                                metadata={"description": "WeChat's last card_sku_remind"})


class StockSchema(Schema):
    delta = fields.Int(required=True, strict=True,
                       validate=[validate.Range(-MAX_QUANTITY, MAX_QUANTITY),
                                 validate.NoneOf([0], error="must not be 0")],
                       metadata={"description": "positive adds stock, negative takes it away",
                                 "not": {"enum": [0]}})


# -- the activation form (activateuserform/set) ------------------------------------------------

class LinkSchema(Schema):
    name = text(45, required=True)
    url = text(128, required=True)


class RichFieldSchema(Schema):
    type = fields.Str(required=True, validate=validate.OneOf(RICH_FIELD_TYPES))
    name = text(45, required=True)
    values = fields.List(text(45), required=True, validate=validate.Length(1, 50))


class FormPartSchema(Schema):
    can_modify = flag(load_default=False)
    common_field_id_list = fields.List(
        fields.Str(validate=validate.OneOf(COMMON_FORM_FIELDS)), load_default=list)
    custom_field_list = fields.List(text(45), load_default=list)
    rich_field_list = fields.List(fields.Nested(RichFieldSchema), load_default=list)


class ActivationFormSchema(Schema):
    """WeChat's activateuserform/set body without card_id."""

    class Meta:
        unknown = RAISE
        # at least one field: a non-empty list in required_form or optional_form
        openapi = {"anyOf": [
            {"required": [part], "properties": {part: {
                "required": [items], "properties": {items: {"minItems": 1}}}}}
            for part in ("required_form", "optional_form")
            for items in ("common_field_id_list", "custom_field_list", "rich_field_list")]}

    service_statement = fields.Nested(LinkSchema)
    bind_old_card = fields.Nested(LinkSchema)
    required_form = fields.Nested(FormPartSchema)
    optional_form = fields.Nested(FormPartSchema)

    @validates_schema
    def _once(self, data: dict[str, Any], **_: Any) -> None:
        seen: set[str] = set()
        for part in ("required_form", "optional_form"):
            section = data.get(part) or {}
            names = [*section.get("common_field_id_list", []),
                     *section.get("custom_field_list", []),
                     *(f["name"] for f in section.get("rich_field_list", []))]
            twice = sorted({n for n in names if n in seen or names.count(n) > 1})
            if twice:
                raise ValidationError({part: [f"each field once in the form: {', '.join(twice)}"]})
            seen.update(names)
        if not seen:
            raise ValidationError("ask for at least one field (required_form or optional_form)",
                                  "_schema")


# -- WeChat's card data (datacube) -------------------------------------------------------------

class WeChatStatsQuerySchema(Schema):
    kind = fields.Str(required=True, validate=validate.OneOf(("summary", "card", "member")),
                      metadata={"description": "summary: getcardbizuininfo, card: "
                                               "getcardcardinfo, member: getcardmembercardinfo"})
    from_ = fields.Date(data_key="from", load_default=None,
                        metadata={"description": "first day (Asia/Shanghai); default to - 6"})
    to = fields.Date(load_default=None,
                     metadata={"description": "last day, inclusive; default yesterday"})
    card_id = fields.Str(load_default=None, validate=CARD_ID,
                         metadata={"description": "kind=card only: one card"})
    cond_source = fields.Int(load_default=1, validate=validate.OneOf((0, 1)),
                             metadata={"description": "1: cards created through the API, "
                                                      "0: in the MP console"})


class WeChatStatsSchema(Schema):
    rows = fields.List(fields.Dict(), metadata={"description": (
        "WeChat's rows (its field names) by ref_date, plus computed: false for a day WeChat "
        "has not finished computing (no counts then)")})
    next_from = fields.Date(allow_none=True, metadata={
        "description": "the range was longer than 366 days: pass this as from for the rest"})
