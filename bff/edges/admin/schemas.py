"""Request and response schemas of the operator endpoints (marshmallow 4)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from bff.domain.codes.custom import CUSTOM_CODE_PATTERN, MAX_BATCH
from bff.edges.http.fields import CARD_ID, OneCode, Pattern, StrictBool, code_field
from bff.ground.wechat.values import HTTP_URL_PATTERN

SCENES = (
    "SCENE_NEAR_BY", "SCENE_MENU", "SCENE_QRCODE", "SCENE_ARTICLE", "SCENE_H5", "SCENE_IVR",
    "SCENE_CARD_CUSTOM_CELL",
)
MAX_WHITELIST = 10
MAX_IMAGE_URL = 1024
MAX_LANDING_CARDS = 50  # a landing page is a list to scroll, not a catalogue dump
HTTP_URL = Pattern(HTTP_URL_PATTERN, error="must be an absolute http(s) URL")
# visible ASCII: WeChat's custom codes are letters, digits and punctuation, never blank
CUSTOM_CODE = Pattern(CUSTOM_CODE_PATTERN,
                      error="a code is 1-128 visible ASCII characters (no spaces)")


class QrCardSchema(Schema):
    card_id = fields.Str(required=True, validate=CARD_ID)
    code = fields.Str(validate=validate.Length(1, 20))
    openid = fields.Str(validate=validate.Length(1, 32))
    is_unique_code = StrictBool()
    outer_str = fields.Str(validate=validate.Length(1, 128))


class QrCodeRequestSchema(Schema):
    """One card → QR_CARD; 2–5 cards → QR_MULTIPLE_CARD (card_id, code, outer_str only)."""

    class Meta:
        openapi = {"anyOf": [
            {"properties": {"cards": {"maxItems": 1, "items": {"not": {
                "required": ["code", "is_unique_code"],
                "properties": {"is_unique_code": {"enum": [True]}}}}}}},
            {"properties": {"cards": {"minItems": 2, "items": {"not": {"anyOf": [
                {"required": ["openid"]}, {"required": ["is_unique_code"]}]}}}}},
        ]}

    cards = fields.List(fields.Nested(QrCardSchema), required=True,
                        validate=validate.Length(1, 5))
    expire_seconds = fields.Int(strict=True, validate=validate.Range(60, 1800), allow_none=True)

    @validates_schema
    def _rules(self, data: dict[str, Any], **_: Any) -> None:
        cards = data.get("cards") or []
        errors: dict[str, Any] = {}
        if len(cards) == 1:
            card = cards[0]
            if card.get("is_unique_code") and card.get("code"):
                errors["0"] = {"code": ["is_unique_code lets WeChat pick the code: omit code"]}
        for i, card in enumerate(cards if len(cards) > 1 else ()):
            bad = {k: ["allowed only in a single-card QR code (QR_CARD)"]
                   for k in ("openid", "is_unique_code") if k in card}
            if bad:
                errors[str(i)] = bad
        if errors:
            raise ValidationError({"cards": errors})


class QrCodeSchema(Schema):
    ticket = fields.Str()
    url = fields.Str()
    show_qrcode_url = fields.Str()
    expire_seconds = fields.Int(allow_none=True)
    image_url = fields.Str(metadata={"description": "this service's PNG rendering of url"})


class QrImageQuerySchema(Schema):
    url = fields.Str(required=True, validate=[validate.Length(1, MAX_IMAGE_URL), HTTP_URL])
    format = fields.Str(load_default="png", validate=validate.OneOf(("png", "svg")))
    scale = fields.Int(load_default=8, validate=validate.Range(1, 40))
    border = fields.Int(load_default=4, validate=validate.Range(0, 20))


class LandingCardSchema(Schema):
    card_id = fields.Str(required=True, validate=CARD_ID)
    thumb_url = fields.Str(required=True, validate=validate.Length(1, 1024))


class LandingPageRequestSchema(Schema):
    banner = fields.Str(required=True, validate=validate.Length(1, 1024))
    page_title = fields.Str(required=True, validate=validate.Length(1, 64))
    can_share = StrictBool(required=True)
    scene = fields.Str(required=True, validate=validate.OneOf(SCENES))
    card_list = fields.List(fields.Nested(LandingCardSchema), required=True,
                            validate=validate.Length(min=1, max=MAX_LANDING_CARDS),
                            metadata={"uniqueItems": True})

    @validates_schema
    def _unique_entries(self, data: dict[str, Any], **_: Any) -> None:
        entries = [(c["card_id"], c["thumb_url"]) for c in data.get("card_list") or []]
        if len(entries) != len(set(entries)):
            raise ValidationError({"card_list": ["each entry at most once"]})


class LandingPageSchema(Schema):
    url = fields.Str()
    page_id = fields.Int()


class ArticleHtmlSchema(Schema):
    content = fields.Str()


class WhitelistSchema(Schema):
    """Replaces the whole test whitelist: at most 10 users, openids and usernames together.

    At least one of the two lists must be given (``{"openid": []}`` empties the whitelist).
    """

    class Meta:
        # "at most 10 in all", as JSON Schema says it: one alternative per split of the 10
        openapi = {"minProperties": 1, "anyOf": [
            {"properties": {"openid": {"maxItems": k}, "username": {"maxItems": MAX_WHITELIST - k}}}
            for k in range(MAX_WHITELIST + 1)
        ]}

    openid = fields.List(fields.Str(validate=validate.Length(1, 64)), load_default=list,
                         metadata={"uniqueItems": True})
    username = fields.List(fields.Str(validate=validate.Length(1, 32)), load_default=list,
                           metadata={"uniqueItems": True})

    @validates_schema(pass_original=True)
    def _limit(self, data: dict[str, Any], original: Any, **_: Any) -> None:
        if isinstance(original, dict) and not original:
            raise ValidationError("give openid, username or both (an empty list empties it)",
                                  "_schema")
        for name in ("openid", "username"):
            if len(set(data[name])) != len(data[name]):
                raise ValidationError(f"each {name} at most once", name)
        total = len(set(data.get("openid") or ())) + len(set(data.get("username") or ()))
        if total > MAX_WHITELIST:
            raise ValidationError(
                f"at most {MAX_WHITELIST} testers in all (openids and usernames), got {total}",
                "_schema",
            )


def _code_list(max_len: int) -> fields.List:
    return fields.List(fields.Str(validate=CUSTOM_CODE),
                       required=True, validate=validate.Length(1, max_len),
                       metadata={"uniqueItems": True})


class CodesSchema(Schema):
    codes = _code_list(MAX_BATCH)

    @validates_schema
    def _unique(self, data: dict[str, Any], **_: Any) -> None:
        codes = data.get("codes") or []
        if len(codes) != len(set(codes)):
            raise ValidationError({"codes": ["each code at most once"]})


class DepositResultSchema(Schema):
    succ_code = fields.Raw()
    duplicate_code = fields.Raw()
    fail_code = fields.Raw()


class CountSchema(Schema):
    count = fields.Int()


class CheckResultSchema(Schema):
    exist_code = fields.List(fields.Str())
    not_exist_code = fields.List(fields.Str())


class CodeRefSchema(OneCode):
    card_id = fields.Str(validate=CARD_ID)
    code = code_field()
    encrypt_code = fields.Str(validate=validate.Length(1, 512))


class RedeemRequestSchema(CodeRefSchema):
    staff_id = fields.Str(validate=validate.Length(1, 64), metadata={
        "description": "who redeems, as the caller names it: recorded for BFF_ADMIN_TOKEN (the "
                       "break-glass admin) and the command line; an operator account's "
                       "redemption records its name (operator) instead"})
    location = fields.Str(validate=validate.Length(1, 128))


class CodeInfoSchema(Schema):
    card_id = fields.Str()
    code = fields.Str()
    openid = fields.Str(allow_none=True)
    can_consume = fields.Bool()
    user_card_status = fields.Str(allow_none=True)
    begin_time = fields.Int(allow_none=True)
    end_time = fields.Int(allow_none=True)


class RedemptionSchema(Schema):
    card_id = fields.Str()
    code = fields.Str()
    openid = fields.Str(allow_none=True)
    redeemed_at = fields.Int(metadata={"description": "epoch seconds of the one consume"})
    staff_id = fields.Str(allow_none=True, metadata={
        "description": "the staff_id given with BFF_ADMIN_TOKEN or on the command line; null "
                       "when an operator account redeemed"})
    operator = fields.Str(allow_none=True, metadata={
        "description": "the operator who redeemed it at the counter: an account's name, or "
                       "break-glass (BFF_ADMIN_TOKEN); null for other channels and the command "
                       "line"})
    location = fields.Str(allow_none=True)
    channel = fields.Str(metadata={"description": "counter, server or self"})
