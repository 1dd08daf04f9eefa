"""Request and response schemas of the operator endpoints (marshmallow 4)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from bff.admin.codes import MAX_BATCH, MAX_CODE_LENGTH

SCENES = (
    "SCENE_NEAR_BY", "SCENE_MENU", "SCENE_QRCODE", "SCENE_ARTICLE", "SCENE_H5", "SCENE_IVR",
    "SCENE_CARD_CUSTOM_CELL",
)
MAX_WHITELIST = 10
MAX_IMAGE_URL = 1024


class QrCardSchema(Schema):
    card_id = fields.Str(required=True, validate=validate.Length(1, 32))
    code = fields.Str(validate=validate.Length(1, 20))
    openid = fields.Str(validate=validate.Length(1, 32))
    is_unique_code = fields.Bool()
    outer_str = fields.Str(validate=validate.Length(1, 128))


class QrCodeRequestSchema(Schema):
    """One card → QR_CARD; 2–5 cards → QR_MULTIPLE_CARD (card_id, code, outer_str only)."""

    cards = fields.List(fields.Nested(QrCardSchema), required=True,
                        validate=validate.Length(1, 5))
    expire_seconds = fields.Int(validate=validate.Range(60, 1800), allow_none=True)

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
    url = fields.Str(required=True, validate=validate.Length(1, MAX_IMAGE_URL))
    format = fields.Str(load_default="png", validate=validate.OneOf(("png", "svg")))
    scale = fields.Int(load_default=8, validate=validate.Range(1, 40))
    border = fields.Int(load_default=4, validate=validate.Range(0, 20))


class LandingCardSchema(Schema):
    card_id = fields.Str(required=True, validate=validate.Length(1, 32))
    thumb_url = fields.Str(required=True, validate=validate.Length(1, 1024))


class LandingPageRequestSchema(Schema):
    banner = fields.Str(required=True, validate=validate.Length(1, 1024))
    page_title = fields.Str(required=True, validate=validate.Length(1, 64))
    can_share = fields.Bool(required=True)
    scene = fields.Str(required=True, validate=validate.OneOf(SCENES))
    card_list = fields.List(fields.Nested(LandingCardSchema), required=True,
                            validate=validate.Length(min=1))

    @validates_schema
    def _unique_cards(self, data: dict[str, Any], **_: Any) -> None:
        ids = [c["card_id"] for c in data.get("card_list") or []]
        if len(ids) != len(set(ids)):
            raise ValidationError({"card_list": ["each card_id at most once"]})


class LandingPageSchema(Schema):
    url = fields.Str()
    page_id = fields.Int()


class ArticleHtmlSchema(Schema):
    content = fields.Str()


class WhitelistSchema(Schema):
    """Replaces the whole test whitelist: at most 10 users, openids and usernames together."""

    openid = fields.List(fields.Str(validate=validate.Length(1, 64)), load_default=list)
    username = fields.List(fields.Str(validate=validate.Length(1, 32)), load_default=list)

    @validates_schema
    def _limit(self, data: dict[str, Any], **_: Any) -> None:
        total = len(set(data.get("openid") or ())) + len(set(data.get("username") or ()))
        if total > MAX_WHITELIST:
            raise ValidationError(
                f"at most {MAX_WHITELIST} testers in all (openids and usernames), got {total}",
                "_schema",
            )


def _code_list(max_len: int) -> fields.List:
    return fields.List(fields.Str(validate=validate.Length(1, MAX_CODE_LENGTH)), required=True,
                       validate=validate.Length(1, max_len))


class CodesSchema(Schema):
    codes = _code_list(MAX_BATCH)

    @validates_schema
    def _unique(self, data: dict[str, Any], **_: Any) -> None:
        codes = data.get("codes") or []
        if len(codes) != len(set(codes)):
            raise ValidationError({"codes": ["each code at most once"]})
        if any(not c.strip() for c in codes):
            raise ValidationError({"codes": ["codes must not be blank"]})


class DepositResultSchema(Schema):
    succ_code = fields.Raw()
    duplicate_code = fields.Raw()
    fail_code = fields.Raw()


class CountSchema(Schema):
    count = fields.Int()


class CheckResultSchema(Schema):
    exist_code = fields.List(fields.Str())
    not_exist_code = fields.List(fields.Str())


class CodeRefSchema(Schema):
    card_id = fields.Str(validate=validate.Length(1, 32))
    code = fields.Str(validate=validate.Length(1, MAX_CODE_LENGTH))
    encrypt_code = fields.Str(validate=validate.Length(1, 512))

    @validates_schema
    def _one_of(self, data: dict[str, Any], **_: Any) -> None:
        if bool(data.get("code")) == bool(data.get("encrypt_code")):
            raise ValidationError("give exactly one of code or encrypt_code", "_schema")


class RedeemRequestSchema(CodeRefSchema):
    staff_id = fields.Str(validate=validate.Length(1, 64))
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
    staff_id = fields.Str(allow_none=True)
    location = fields.Str(allow_none=True)
    channel = fields.Str(metadata={"description": "counter, server or self"})
