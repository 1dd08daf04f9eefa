"""WeChat's card definition (``card/create``), its changes (``card/update``) and the member
card's activation form (``activateuserform/set``), checked before any call to WeChat.

Rules from WeChat's card/create reference: lengths are UTF-8 bytes as WeChat counts them (a
Chinese character is 3), so ``title`` holds 9 Chinese characters. Fields this module does not
model pass through unchanged (WeChat documents more than any merchant uses); the ones it models
are checked, and a mistake is a 422 whose ``errors`` name the field.
"""

from __future__ import annotations

import time
from typing import Any

from flask import current_app, has_app_context
from marshmallow import (
    INCLUDE,
    RAISE,
    Schema,
    ValidationError,
    fields,
    validate,
    validates_schema,
)

from bff.domain.catalogue_rules import (
    APP_BRAND_PAIRS,
    CELL_APP_BRAND_PAIR,
    activation_mode_problems,
    app_brand_problems,
)
from bff.domain.images import CARD_IMAGE_URL_PATTERN, SANDBOX_IMAGE_URL_PATTERN, is_card_image_url
from bff.edges.http.fields import StrictBool
from bff.edges.http.openapi import at_least_one_of

CARD_TYPES = ("GROUPON", "CASH", "DISCOUNT", "GIFT", "GENERAL_COUPON", "MEMBER_CARD")
CODE_TYPES = ("CODE_TYPE_TEXT", "CODE_TYPE_BARCODE", "CODE_TYPE_QRCODE",
              "CODE_TYPE_ONLY_QRCODE", "CODE_TYPE_ONLY_BARCODE", "CODE_TYPE_NONE")
COLORS = ("Color010", "Color020", "Color030", "Color040", "Color050", "Color060", "Color070",
          "Color080", "Color081", "Color082", "Color090", "Color100", "Color101", "Color102")
DATE_TYPES = ("DATE_TYPE_FIX_TIME_RANGE", "DATE_TYPE_FIX_TERM", "DATE_TYPE_PERMANENT")
CARD_STATUSES = ("CARD_STATUS_NOT_VERIFY", "CARD_STATUS_VERIFY_FAIL", "CARD_STATUS_VERIFY_OK",
                 "CARD_STATUS_DELETE", "CARD_STATUS_DISPATCH")
FIELD_NAME_TYPES = ("FIELD_NAME_TYPE_LEVEL", "FIELD_NAME_TYPE_COUPON", "FIELD_NAME_TYPE_STAMP",
                    "FIELD_NAME_TYPE_DISCOUNT", "FIELD_NAME_TYPE_ACHIEVEMEN",
                    "FIELD_NAME_TYPE_MILEAGE", "FIELD_NAME_TYPE_SET_POINTS",
                    "FIELD_NAME_TYPE_TIMS")
MAX_QUANTITY = 100_000_000
DEPOSIT_MODE = "GET_CUSTOM_CODE_MODE_DEPOSIT"
LAST_TIMESTAMP = 4_102_444_800  # 2100-01-01: WeChat's timestamps are 32-bit seconds
APP_BRAND_USER = r"^gh_[0-9A-Za-z]{1,32}@app$"
# A Mini Program page path (with its query), no spaces. Python's \s also holds U+001C-U+001F and
# U+0085, ECMA's (the spec's) U+FEFF: all are named, so both refuse the same values.
PAGE_PATH = r"^[^\s\x1c-\x1f\x85\ufeff]+$"
MAX_TEXT = 3072


# Rules across fields, as the spec states them (``Meta.openapi``, merged by bff.edges.http.openapi).
def _true(name: str) -> dict[str, Any]:
    return {"required": [name], "properties": {name: {"enum": [True]}}}


def _given(name: str) -> dict[str, Any]:
    return {"required": [name]}


def _not_true(name: str) -> dict[str, Any]:
    """Absent or false."""
    return {"properties": {name: {"enum": [False]}}}


def _absent(name: str) -> dict[str, Any]:
    """A string field left out: no string is both at least 1 and at most 0 characters long
    (OpenAPI 3.0 has no ``false`` schema)."""
    return {"properties": {name: {"type": "string", "minLength": 1, "maxLength": 0}}}


class Bytes(validate.Validator):
    """At most ``limit`` bytes of UTF-8, WeChat's measure of a string field."""

    def __init__(self, limit: int) -> None:
        self.limit = limit

    def __call__(self, value: str) -> str:
        if len(value.encode("utf-8", "surrogatepass")) > self.limit:
            raise ValidationError(f"at most {self.limit} bytes of UTF-8 "
                                  f"(a Chinese character counts 3)")
        return value


def text(limit: int, **kwargs: Any) -> fields.Str:
    return fields.Str(validate=[validate.Length(min=1), Bytes(limit)], **kwargs)


def flag(**kwargs: Any) -> fields.Bool:
    """true or false as JSON booleans (WeChat reads "yes" as nothing; 1 == True in a set, so
    truthy={True} would take 1 too)."""
    return StrictBool(**kwargs)


def app_brand_user(**kwargs: Any) -> fields.Str:
    return fields.Str(validate=validate.Regexp(
        APP_BRAND_USER, error="the Mini Program's original id with @app, e.g. gh_86a091e50ad4@app"),
        **kwargs)


def app_brand_pass(**kwargs: Any) -> fields.Str:
    """A Mini Program page path (``pages/card/index?from=card``): ≤ 128 bytes, no spaces."""
    return fields.Str(validate=[validate.Length(min=1), Bytes(128), validate.Regexp(
        PAGE_PATH, error="a Mini Program page path, e.g. pages/card/index, without spaces")],
        **kwargs)


def _sandbox_upload(url: str) -> bool:
    """Whether an upload the sandbox served counts here: in sandbox mode, or when the service
    talks to a standalone sandbox over HTTP (``BFF_WECHAT_API_BASE`` not WeChat's) and the URL
    is under that base. Against WeChat, only WeChat's image host."""
    if not has_app_context():
        return False
    settings = current_app.extensions["bff"].settings
    base = settings.wechat_api_base.rstrip("/")
    return bool(settings.sandbox) or (
        base != "https://api.weixin.qq.com" and url.startswith(base + "/"))


class CardImageUrl(validate.Validator):
    """A card picture's URL: on WeChat's image host (upload it with POST /v1/admin/images)."""

    def __call__(self, value: str) -> str:
        if not is_card_image_url(value, sandbox=_sandbox_upload(value)):
            raise ValidationError("an image URL on WeChat's image host (mmbiz.qpic.cn): upload "
                                  "the picture with POST /v1/admin/images and use its url")
        return value


def image_url(**kwargs: Any) -> fields.Str:
    return fields.Str(validate=[validate.Length(min=1), Bytes(128), CardImageUrl()],
                      metadata={"description": "an image on WeChat's image host "
                                               "(POST /v1/admin/images answers one; in sandbox "
                                               "mode also the sandbox's own uploads)",
                                "pattern": f"{CARD_IMAGE_URL_PATTERN}|{SANDBOX_IMAGE_URL_PATTERN}"},
                      **kwargs)


class SkuSchema(Schema):
    quantity = fields.Int(required=True, strict=True, validate=validate.Range(0, MAX_QUANTITY))


class DateInfoSchema(Schema):
    class Meta:
        # the fields each type needs (end after begin and in the future: not sayable)
        openapi = {"anyOf": [
            {"properties": {"type": {"enum": ["DATE_TYPE_FIX_TIME_RANGE"]}},
             "required": ["begin_timestamp", "end_timestamp"]},
            {"properties": {"type": {"enum": ["DATE_TYPE_FIX_TERM"]}},
             "required": ["fixed_term"]},
            {"properties": {"type": {"enum": ["DATE_TYPE_PERMANENT"]}}}]}

    type = fields.Str(required=True, validate=validate.OneOf(DATE_TYPES))
    begin_timestamp = fields.Int(strict=True, validate=validate.Range(0, LAST_TIMESTAMP))
    end_timestamp = fields.Int(strict=True, validate=validate.Range(0, LAST_TIMESTAMP))
    fixed_term = fields.Int(strict=True, validate=validate.Range(1, 36500))
    fixed_begin_term = fields.Int(strict=True, validate=validate.Range(0, 36500))

    @validates_schema
    def _by_type(self, data: dict[str, Any], **_: Any) -> None:
        kind = data.get("type")
        if kind == "DATE_TYPE_FIX_TIME_RANGE":
            missing = {k: ["required with DATE_TYPE_FIX_TIME_RANGE"]
                       for k in ("begin_timestamp", "end_timestamp") if k not in data}
            if missing:
                raise ValidationError(missing)
            if data["end_timestamp"] <= data["begin_timestamp"]:
                raise ValidationError({"end_timestamp": ["after begin_timestamp"]})
            if data["end_timestamp"] <= time.time():
                raise ValidationError({"end_timestamp": ["in the future"]})
        elif kind == "DATE_TYPE_FIX_TERM" and "fixed_term" not in data:
            raise ValidationError({"fixed_term": ["required with DATE_TYPE_FIX_TERM"]})


UPDATABLE_BASE = ("logo_url", "title", "color", "notice", "description", "service_phone",
                  "code_type", "get_limit", "can_share", "can_give_friend", "date_info",
                  "center_title", "center_sub_title", "center_url", "custom_url_name",
                  "custom_url", "custom_url_sub_title", "promotion_url_name", "promotion_url",
                  "promotion_url_sub_title", "location_id_list", "use_all_locations",
                  "get_custom_code_mode", *(name for pair in APP_BRAND_PAIRS["base_info"]
                                            for name in pair))
REQUIRED_BASE = ("logo_url", "brand_name", "code_type", "title", "color", "notice",
                 "description", "sku", "date_info")


def _base_info_fields(creating: bool) -> dict[str, fields.Field]:
    """base_info's fields: required ones required when creating, every one optional in a
    change, and only what card/update may change in a change."""
    declared: dict[str, fields.Field] = {
        "logo_url": image_url(), "brand_name": text(36),
        "code_type": fields.Str(validate=validate.OneOf(CODE_TYPES)),
        "title": text(27), "color": fields.Str(validate=validate.OneOf(COLORS)),
        "notice": text(48), "description": text(MAX_TEXT),
        "sku": fields.Nested(SkuSchema), "date_info": fields.Nested(DateInfoSchema),
        "use_custom_code": flag(),
        "get_custom_code_mode": fields.Str(validate=validate.OneOf([DEPOSIT_MODE])),
        "bind_openid": flag(), "service_phone": text(24),
        "get_limit": fields.Int(strict=True, validate=validate.Range(min=0)),
        "use_limit": fields.Int(strict=True, validate=validate.Range(min=0)),
        "can_share": flag(), "can_give_friend": flag(),
        "center_title": text(18), "center_sub_title": text(24), "center_url": text(128),
        "custom_url_name": text(15), "custom_url": text(128), "custom_url_sub_title": text(18),
        "promotion_url_name": text(15), "promotion_url": text(128),
        "promotion_url_sub_title": text(18), "source": text(36),
        **{user: app_brand_user() for user, _ in APP_BRAND_PAIRS["base_info"]},
        **{page: app_brand_pass() for _, page in APP_BRAND_PAIRS["base_info"]},
        "location_id_list": fields.List(fields.Int(strict=True, validate=validate.Range(
            0, 2**63 - 1))), "use_all_locations": flag(),
    }
    if not creating:
        return {k: v for k, v in declared.items() if k in UPDATABLE_BASE}
    for name in REQUIRED_BASE:
        declared[name].required = True
    return declared


class _Include:
    unknown = INCLUDE


class _Raise:
    unknown = RAISE


def app_brand_rule(pairs: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    """``Meta.openapi`` for ``AppBrandPairs``: each page path needs its Mini Program."""
    return {"allOf": [{"anyOf": [{"not": {"required": [page]}}, {"required": [user]}]}
                      for user, page in pairs]}


class AppBrandPairs(Schema):
    """An object whose ``*_app_brand_pass`` needs its ``*_app_brand_user_name`` (WeChat's
    Mini Program links): ``pairs`` names them."""

    pairs: tuple[tuple[str, str], ...] = ()

    @validates_schema
    def _pairs(self, data: dict[str, Any], **_: Any) -> None:
        problems = app_brand_problems(data, self.pairs)
        if problems:
            raise ValidationError(problems)


BaseInfoSchema = type("BaseInfoSchema", (AppBrandPairs,), {
    "__doc__": "``base_info``: what every card type shares.",
    "Meta": type("Meta", (_Include,), {"openapi": app_brand_rule(APP_BRAND_PAIRS["base_info"])}),
    "pairs": APP_BRAND_PAIRS["base_info"], **_base_info_fields(True)})
# What card/update may change; any other field is refused (422 "Unknown field"). A page path
# without its Mini Program is judged against the card it changes (bff.domain.catalogue.update_card).
BaseInfoChangeSchema = type("BaseInfoChangeSchema", (Schema,), {
    "__doc__": "The base_info fields card/update can change; every one optional.",
    "Meta": _Raise, **_base_info_fields(False)})


# WeChat's "Import Code" rule (CouponSchema._deposited_codes)
DEPOSIT_RULE = {"anyOf": [
    {"properties": {"base_info": _absent("get_custom_code_mode")}},
    {"properties": {"base_info": {
        "required": ["use_custom_code"],
        "properties": {"use_custom_code": {"enum": [True]},
                       "sku": {"properties": {"quantity": {"enum": [0]}}}}}}}]}


class CouponSchema(Schema):
    class Meta:
        unknown = INCLUDE

    base_info = fields.Nested(BaseInfoSchema, required=True)
    advanced_info = fields.Dict()

    @validates_schema
    def _deposited_codes(self, data: dict[str, Any], **_: Any) -> None:
        # WeChat's "Import Code" rule: with get_custom_code_mode the stock may not exceed the
        # codes imported, and a new card has none: create it with 0, import (deposit) the
        # codes, then add stock.
        base = data.get("base_info") or {}
        if base.get("get_custom_code_mode") != DEPOSIT_MODE:
            return
        problems: dict[str, Any] = {}
        if base.get("use_custom_code") is not True:
            problems["use_custom_code"] = ["must be true with get_custom_code_mode"]
        if (base.get("sku") or {}).get("quantity"):
            problems["sku"] = {"quantity": ["0 with get_custom_code_mode: add stock after "
                                            "importing the codes"]}
        if problems:
            raise ValidationError({"base_info": problems})


class GrouponSchema(CouponSchema):
    deal_detail = text(MAX_TEXT, required=True)


class CashSchema(CouponSchema):
    least_cost = fields.Int(strict=True, validate=validate.Range(min=0),
                            metadata={"description": "minimum spend, in fen"})
    reduce_cost = fields.Int(required=True, strict=True, validate=validate.Range(min=1),
                             metadata={"description": "amount off, in fen"})


class DiscountSchema(CouponSchema):
    discount = fields.Int(required=True, strict=True, validate=validate.Range(1, 99),
                          metadata={"description": "percent off: 30 is 70% of the price"})


class GiftSchema(CouponSchema):
    gift = text(MAX_TEXT, required=True)


class GeneralCouponSchema(CouponSchema):
    default_detail = text(MAX_TEXT, required=True)


class CustomFieldSchema(Schema):
    """A member card's information item (level, stamps...) at the top of the card."""

    class Meta:
        unknown = INCLUDE
        openapi = {**at_least_one_of(("name_type", "name")),
                   **app_brand_rule((CELL_APP_BRAND_PAIR,))}

    name_type = fields.Str(validate=validate.OneOf(FIELD_NAME_TYPES))
    name = text(15)
    url = text(128)
    app_brand_user_name = app_brand_user()
    app_brand_pass = app_brand_pass()

    @validates_schema
    def _named(self, data: dict[str, Any], **_: Any) -> None:
        if not data.get("name_type") and not data.get("name"):
            raise ValidationError({"name_type": ["give name_type or name"]})
        problems = app_brand_problems(data, (CELL_APP_BRAND_PAIR,))
        if problems:
            raise ValidationError(problems)


class CustomCellSchema(AppBrandPairs):
    """A member card's custom entry (custom_cell1/2): a name and a link, to a web page or to a
    Mini Program page."""

    class Meta:
        unknown = INCLUDE
        openapi = app_brand_rule((CELL_APP_BRAND_PAIR,))

    pairs = (CELL_APP_BRAND_PAIR,)
    name = text(15, required=True)
    tips = text(18)
    url = text(128)
    app_brand_user_name = app_brand_user()
    app_brand_pass = app_brand_pass()


class MemberCardFieldsSchema(AppBrandPairs):
    """The member card's own fields, each optional: card/update may change any one of them."""

    pairs = APP_BRAND_PAIRS["member_card"][1:]  # activate_*: activation_mode_problems
    background_pic_url = image_url()
    prerogative = text(MAX_TEXT)
    auto_activate = flag()
    wx_activate = flag()
    wx_activate_after_submit = flag()
    wx_activate_after_submit_url = text(128)
    activate_url = text(128)
    activate_app_brand_user_name = app_brand_user()
    activate_app_brand_pass = app_brand_pass()
    bonus_app_brand_user_name = app_brand_user()
    bonus_app_brand_pass = app_brand_pass()
    balance_app_brand_user_name = app_brand_user()
    balance_app_brand_pass = app_brand_pass()
    supply_bonus = flag()
    supply_balance = flag()
    bonus_url = text(128)
    balance_url = text(128)
    bonus_cleared = text(MAX_TEXT)
    bonus_rules = text(MAX_TEXT)
    balance_rules = text(MAX_TEXT)
    bonus_rule = fields.Dict()
    discount = fields.Int(strict=True, validate=validate.Range(0, 99))
    custom_field1 = fields.Nested(CustomFieldSchema)
    custom_field2 = fields.Nested(CustomFieldSchema)
    custom_field3 = fields.Nested(CustomFieldSchema)
    custom_cell1 = fields.Nested(CustomCellSchema)
    custom_cell2 = fields.Nested(CustomCellSchema)


class MemberCardSchema(CouponSchema, MemberCardFieldsSchema):
    """``member_card``: one activation mode, and for the Mini Program flow ``wx_activate`` +
    ``wx_activate_after_submit`` + ``activate_app_brand_user_name`` / ``_pass``."""

    class Meta:
        unknown = INCLUDE
        openapi = app_brand_rule(MemberCardFieldsSchema.pairs)

    prerogative = text(MAX_TEXT, required=True)
    supply_bonus = flag(required=True)
    supply_balance = flag(required=True)

    @validates_schema
    def _activation(self, data: dict[str, Any], **_: Any) -> None:
        problems = activation_mode_problems(data)
        if problems:
            raise ValidationError(problems)


TYPE_SCHEMAS: dict[str, type[Schema]] = {
    "GROUPON": GrouponSchema, "CASH": CashSchema, "DISCOUNT": DiscountSchema,
    "GIFT": GiftSchema, "GENERAL_COUPON": GeneralCouponSchema, "MEMBER_CARD": MemberCardSchema,
}


# WeChat's activation rules (bff.domain.catalogue_rules.activation_mode_problems)
ACTIVATION_RULES = [
    {"anyOf": [_not_true("wx_activate"), _not_true("auto_activate")]},
    {"anyOf": [_not_true("wx_activate"), _absent("activate_url")]},
    {"anyOf": [_not_true("wx_activate_after_submit"), _true("wx_activate")]},
    {"anyOf": [_absent("activate_app_brand_user_name"),
               {"allOf": [_true("wx_activate"), _true("wx_activate_after_submit")]}]},
    {"anyOf": [_absent("activate_app_brand_pass"), _given("activate_app_brand_user_name")]},
]


def _one_card_type(card_type: str) -> dict[str, Any]:
    """``card_type``, its object and no other; DATE_TYPE_PERMANENT only for member cards."""
    name = card_type.lower()
    rules: list[dict[str, Any]] = [DEPOSIT_RULE]
    if card_type == "MEMBER_CARD":
        rules += ACTIVATION_RULES
    else:
        dated = [t for t in DATE_TYPES if t != "DATE_TYPE_PERMANENT"]
        rules.append({"properties": {"base_info": {"properties": {
            "date_info": {"properties": {"type": {"enum": dated}}}}}}})
    # card_type and its object, and nothing else (the card has no other property)
    return {"required": ["card_type", name], "maxProperties": 2,
            "properties": {"card_type": {"enum": [card_type]}, name: {"allOf": rules}}}


class CardSchema(Schema):
    """WeChat's ``card``: ``card_type`` and the one object named after it."""

    class Meta:
        unknown = RAISE

    card_type = fields.Str(required=True, validate=validate.OneOf(CARD_TYPES))
    groupon = fields.Nested(GrouponSchema)
    cash = fields.Nested(CashSchema)
    discount = fields.Nested(DiscountSchema)
    gift = fields.Nested(GiftSchema)
    general_coupon = fields.Nested(GeneralCouponSchema)
    member_card = fields.Nested(MemberCardSchema)

    @validates_schema
    def _one_type(self, data: dict[str, Any], **_: Any) -> None:
        card_type = data.get("card_type")
        if card_type is None:
            return
        present = [t.lower() for t in CARD_TYPES if t.lower() in data]
        if card_type.lower() not in present:
            raise ValidationError({card_type.lower(): [f"required with card_type {card_type}"]})
        others = {k: [f"not with card_type {card_type}"] for k in present
                  if k != card_type.lower()}
        if others:
            raise ValidationError(others)
        detail = data[card_type.lower()]
        if card_type != "MEMBER_CARD" and \
                detail["base_info"]["date_info"]["type"] == "DATE_TYPE_PERMANENT":
            raise ValidationError({card_type.lower(): {"base_info": {"date_info": {
                "type": ["DATE_TYPE_PERMANENT is for member cards"]}}}})


class CardCreateSchema(Schema):
    class Meta:
        # WeChat's rules across a card's fields, stated on the body rather than on Card,
        # Cash, ...: with anyOf in a nested component schemathesis's coverage phase sends
        # bodies that are no object
        openapi = {"anyOf": [{"properties": {"card": _one_card_type(t)}} for t in CARD_TYPES]}

    card = fields.Nested(CardSchema, required=True)


# -- changes (card/update) ------------------------------------------------------------------

class CardChangeSchema(MemberCardFieldsSchema):
    """The changed fields: ``base_info`` and the type fields (``prerogative``, ...)."""

    class Meta:
        unknown = RAISE

    pairs = ()  # judged against the card it changes (bff.domain.catalogue.update_card)
    base_info = fields.Nested(BaseInfoChangeSchema)
    deal_detail = text(MAX_TEXT)
    gift = text(MAX_TEXT)
    default_detail = text(MAX_TEXT)

    @validates_schema
    def _something(self, data: dict[str, Any], **_: Any) -> None:
        if not data or data == {"base_info": {}}:
            raise ValidationError("give at least one field to change", "_schema")


CardChangeSchema.Meta.openapi = at_least_one_of(  # type: ignore[attr-defined]
    (f.data_key or name for name, f in CardChangeSchema._declared_fields.items()),
    objects=("base_info",))
