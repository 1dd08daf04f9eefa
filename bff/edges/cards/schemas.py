"""Request and response bodies of the card, code and JS-SDK endpoints."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from bff.edges.http.fields import (
    CARD_ID,
    CHANNEL,
    ENCRYPT_CODE,
    WX_CARD_ID,
    OneCode,
    Pattern,
)
from bff.ground.wechat.values import (
    HTTP_URL_PATTERN,
)

MAX_ADD_CARDS = 10  # wx.addCard cards per call this service signs at once



class AddCardItemSchema(Schema):
    card_id = fields.Str(required=True, validate=WX_CARD_ID)
    outer_str = fields.Str(
        validate=CHANNEL,
        metadata={"description": "channel tag for the statistics (unsigned). For a Mini Program "
                                 "caller the cardExt's outer_str is this tag, '~' and a proof "
                                 "that the card was signed for that user"})
    fixed_begintimestamp = fields.Int(
        strict=True, validate=validate.Range(min=0, max=2**32 - 1),
        metadata={"description": "unsigned; passed through unsigned"})


CARDS_COUNT = validate.Length(min=1, max=MAX_ADD_CARDS)
BEGIN_TIMESTAMP = validate.Range(min=0, max=2**32 - 1)


class AddCardSchema(Schema):
    cards = fields.List(fields.Nested(AddCardItemSchema), required=True, validate=CARDS_COUNT,
                        metadata={"description": f"1..{MAX_ADD_CARDS} cards"})

    def load(self, data: Any, *, many: bool | None = None, partial: Any = None,
             unknown: str | None = None) -> Any:
        """The hot path (every wx.addCard): a well-formed body is checked with the same
        validators, without marshmallow's machinery; anything else goes through the full load,
        which gives the 422 its messages.

        Kept for its measured cost (issue 18, bench/schema_bypass.py): with the dump below it
        saves ~31 us of CPU per add-card (3 us instead of ~27 to load, 1 instead of ~8 to
        dump), ~5 % of the request; tests/cards/test_fast_paths.py keeps it equal to the full
        load."""
        fast = fast_add_card(data) if many is None and partial is None else None
        if fast is not None:
            return fast
        return super().load(data, many=many, partial=partial, unknown=unknown)


_ITEM_KEYS = frozenset(("card_id", "outer_str", "fixed_begintimestamp"))


def fast_add_card(data: Any) -> dict | None:
    """``{"cards": [...]}`` as AddCardSchema would load it, or None (then the full load runs)."""
    if type(data) is not dict or data.keys() != {"cards"}:
        return None
    cards = data["cards"]
    if type(cards) is not list:
        return None
    try:
        CARDS_COUNT(cards)
        out = []
        for item in cards:
            if type(item) is not dict or not item.keys() <= _ITEM_KEYS:
                return None
            card_id = item.get("card_id")
            if type(card_id) is not str:
                return None
            WX_CARD_ID(card_id)
            if "outer_str" in item:
                if type(item["outer_str"]) is not str:
                    return None
                for check in CHANNEL:
                    check(item["outer_str"])
            if "fixed_begintimestamp" in item:
                if type(item["fixed_begintimestamp"]) is not int:  # strict: no bool, no str
                    return None
                BEGIN_TIMESTAMP(item["fixed_begintimestamp"])
            out.append(dict(item))
    except ValidationError:
        return None
    return {"cards": out}


class CardListItemSchema(Schema):
    cardId = fields.Str(required=True)
    cardExt = fields.Str(required=True, metadata={"description": "pass to wx.addCard as is"})


class CardListSchema(Schema):
    card_list = fields.List(fields.Nested(CardListItemSchema), required=True)

    def dump(self, obj: Any, *, many: bool | None = None) -> Any:
        """add-card's answer is built by bff.domain.cards.signing, two strings per card: copied as
        the
        schema would dump them, without marshmallow's machinery (the hot path)."""
        if many is None and type(obj) is dict and type(obj.get("card_list")) is list:
            return {"card_list": [{"cardId": c["cardId"], "cardExt": c["cardExt"]}
                                  for c in obj["card_list"]]}
        return super().dump(obj, many=many)


class ChooseCardSchema(Schema):
    card_id = fields.Str(validate=CARD_ID)
    card_type = fields.Str(validate=Pattern(r"^[A-Z_]{1,32}$"))
    shop_id = fields.Str(validate=Pattern(r"^[0-9]{1,20}$"))


class ChooseCardOutSchema(Schema):
    shopId = fields.Str(required=True)
    cardType = fields.Str(required=True)
    cardId = fields.Str(required=True)
    timestamp = fields.Str(required=True)
    nonceStr = fields.Str(required=True)
    signType = fields.Str(required=True)
    cardSign = fields.Str(required=True)


class JssdkConfigSchema(Schema):
    url = fields.Str(required=True, validate=[
        validate.Length(min=1, max=2048),
        Pattern(HTTP_URL_PATTERN, error="url must be an absolute http(s) URL")])


class JssdkConfigOutSchema(Schema):
    appId = fields.Str(required=True)
    timestamp = fields.Int(required=True)
    nonceStr = fields.Str(required=True)
    signature = fields.Str(required=True)


class DecryptSchema(Schema):
    """What a card link carries (WeChat appends ``encrypt_code``, ``card_id``, ``openid`` and,
    for member cards, ``outer_str`` to the card's URL): a page may forward them all."""

    encrypt_code = fields.Str(required=True, validate=ENCRYPT_CODE)
    card_id = fields.Str(validate=WX_CARD_ID)
    openid = fields.Str(validate=validate.Length(max=128), metadata={
        "description": "the link's OA openid: accepted and ignored (the session proves who "
                       "the caller is; a URL proves nothing)"})
    outer_str = fields.Str(validate=validate.Length(max=128), metadata={
        "description": "the member card link's channel: counted as opened in channel "
                       "statistics for the code's card, once per code and day"})


class HeldCodeSchema(Schema):
    """A code as its holder sees it."""

    card_id = fields.Str(required=True)
    code = fields.Str(required=True)
    user_card_status = fields.Str(required=True)


class CodeSchema(HeldCodeSchema):
    can_consume = fields.Bool(required=True)


class MineItemSchema(HeldCodeSchema):
    received_at = fields.Int(required=True)


class MineSchema(Schema):
    cards = fields.Nested(MineItemSchema, many=True, required=True)


class RedeemSchema(OneCode):
    card_id = fields.Str(required=True, validate=WX_CARD_ID)


class RedeemOutSchema(Schema):
    card_id = fields.Str(required=True)
    code = fields.Str(required=True)
    user_card_status = fields.Str(required=True)
    redeemed_at = fields.Int(required=True)
