"""WeChat's rules for a card definition (``card/create``) and a change (``card/update``).

The sandbox's one home for them: lengths are UTF-8 bytes, as WeChat counts them (a Chinese
character is 3), taken from WeChat's card/create reference as the SDK peers (wechatpy,
WxJava) send it. Errcodes: 41011 for a missing required field, 45021 for a field over its
length, 40071 for an unknown card type, 40072 for an unknown code_type, 40079 for a bad
date_info, 40122 for a bad sku quantity; 47001 for the rest (a wrong type, an unknown colour,
conflicting activation modes, a field card/update cannot change), where WeChat documents none.
"""

from __future__ import annotations

import re
from typing import Any

from bff.sandbox.api_media import card_image_url_ok
from bff.sandbox.core import WeChatError, format_error

CARD_TYPES = ("GROUPON", "CASH", "DISCOUNT", "GIFT", "GENERAL_COUPON", "MEMBER_CARD")
CODE_TYPES = ("CODE_TYPE_TEXT", "CODE_TYPE_BARCODE", "CODE_TYPE_QRCODE",
              "CODE_TYPE_ONLY_QRCODE", "CODE_TYPE_ONLY_BARCODE", "CODE_TYPE_NONE")
COLORS = ("Color010", "Color020", "Color030", "Color040", "Color050", "Color060", "Color070",
          "Color080", "Color081", "Color082", "Color090", "Color100", "Color101", "Color102")
DATE_TYPES = ("DATE_TYPE_FIX_TIME_RANGE", "DATE_TYPE_FIX_TERM", "DATE_TYPE_PERMANENT")
MAX_QUANTITY = 100_000_000  # of a card's sku: at most 100 million
BASE_REQUIRED = ("logo_url", "brand_name", "code_type", "title", "color", "notice",
                 "description", "sku", "date_info")
BASE_BYTES = {
    "logo_url": 128, "brand_name": 36, "title": 27, "notice": 48, "description": 3072,
    "service_phone": 24, "center_title": 18, "center_sub_title": 24, "center_url": 128,
    "custom_url_name": 15, "custom_url": 128, "custom_url_sub_title": 18,
    "promotion_url_name": 15, "promotion_url": 128, "promotion_url_sub_title": 18,
    "source": 36,
}
TEXT_FIELD = {"GROUPON": "deal_detail", "GIFT": "gift", "GENERAL_COUPON": "default_detail",
              "MEMBER_CARD": "prerogative"}
APP_BRAND = re.compile(r"gh_[0-9A-Za-z]{1,32}@app")
PAGE_PATH = re.compile(r"[^\s]{1,128}")  # a Mini Program page path (≤ 128 bytes, no spaces)
# (user_name, page path) of every link from a card to a Mini Program page.
BASE_APP_BRAND = tuple((f"{e}_app_brand_user_name", f"{e}_app_brand_pass")
                       for e in ("custom", "promotion", "center"))
MEMBER_APP_BRAND = tuple((f"{e}_app_brand_user_name", f"{e}_app_brand_pass")
                         for e in ("bonus", "balance"))
CELL_APP_BRAND = (("app_brand_user_name", "app_brand_pass"),)
CELLS = ("custom_field1", "custom_field2", "custom_field3", "custom_cell1", "custom_cell2")
IMAGES = ("logo_url", "background_pic_url")  # only on WeChat's image host
# What card/update may change; a change to a REVIEWED field sends the card back to review.
UPDATABLE_BASE = ("logo_url", "title", "color", "notice", "description", "service_phone",
                  "code_type", "get_limit", "can_share", "can_give_friend", "date_info",
                  "center_title", "center_sub_title", "center_url", "custom_url_name",
                  "custom_url", "custom_url_sub_title", "promotion_url_name", "promotion_url",
                  "promotion_url_sub_title", "location_id_list", "use_all_locations",
                  "get_custom_code_mode", *(n for pair in BASE_APP_BRAND for n in pair))
UPDATABLE_MEMBER = ("background_pic_url", "prerogative", "supply_bonus", "supply_balance",
                    "bonus_url", "balance_url", "bonus_rule", "discount", "auto_activate",
                    "wx_activate", "wx_activate_after_submit", "wx_activate_after_submit_url",
                    "activate_url", "activate_app_brand_user_name", "activate_app_brand_pass",
                    "custom_field1", "custom_field2", "custom_field3", "custom_cell1",
                    "custom_cell2", *(n for pair in MEMBER_APP_BRAND for n in pair))
REVIEWED = ("logo_url", "title", "color", "notice", "description", "prerogative", "deal_detail",
            "gift", "default_detail")


def _missing(name: str) -> WeChatError:
    return WeChatError(41011, f"missing required field: {name}")


def _bytes(value: Any, name: str, limit: int) -> None:
    if not isinstance(value, str):
        raise format_error(f"{name} must be a string")
    if len(value.encode("utf-8")) > limit:
        raise WeChatError(45021, f"field length exceeds limit: {name} (at most {limit} bytes)")


def _int(value: Any, name: str, low: int = 0, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise format_error(f"{name} must be an integer")
    if value < low or (high is not None and value > high):
        raise format_error(f"{name} out of range")
    return value


def _bool(value: Any, name: str) -> None:
    if not isinstance(value, bool):
        raise format_error(f"{name} must be true or false")


def card_detail(card: Any) -> tuple[str, dict[str, Any]]:
    """(card_type, the ``<type>`` object) of a ``{"card_type": ..., "<type>": {...}}``."""
    if not isinstance(card, dict):
        raise _missing("card")
    card_type = card.get("card_type")
    if card_type not in CARD_TYPES:
        raise WeChatError(40071, "invalid card type")
    detail = card.get(card_type.lower())
    if not isinstance(detail, dict):
        raise _missing(card_type.lower())
    return card_type, detail


def check_card(card: Any, now: float) -> tuple[str, dict[str, Any]]:
    """Validate a card/create ``card``; returns (card_type, detail)."""
    card_type, detail = card_detail(card)
    base = detail.get("base_info")
    if not isinstance(base, dict):
        raise _missing("base_info")
    for name in BASE_REQUIRED:
        if base.get(name) in (None, ""):
            raise _missing(f"base_info.{name}")
    _check_base(base, card_type, now)
    sku = base["sku"]
    if not isinstance(sku, dict) or "quantity" not in sku:
        raise _missing("base_info.sku.quantity")
    quantity = sku["quantity"]
    if isinstance(quantity, bool) or not isinstance(quantity, int) \
            or not 0 <= quantity <= MAX_QUANTITY:
        raise WeChatError(40122, "invalid quantity")
    if base.get("get_custom_code_mode") is not None:
        check_deposit_mode(base, quantity, deposited=0)
    _check_type_fields(card_type, detail, creating=True)
    check_links(detail)
    return card_type, detail


def check_deposit_mode(base: dict[str, Any], quantity: int, deposited: int) -> None:
    """WeChat's "Import Code" rules: get_custom_code_mode needs use_custom_code, and the stock
    may not exceed the codes imported (none when the card is created)."""
    if base.get("get_custom_code_mode") != "GET_CUSTOM_CODE_MODE_DEPOSIT":
        raise format_error("get_custom_code_mode")
    if base.get("use_custom_code") is not True:
        raise format_error("get_custom_code_mode needs use_custom_code true")
    if quantity > deposited:
        raise WeChatError(40122, "invalid quantity: more stock than imported codes")


def check_app_brand(obj: dict[str, Any], pairs: tuple[tuple[str, str], ...], where: str,
                    *, pairs_complete: bool = True) -> None:
    """Mini Program links: a user_name is ``gh_...@app``, a page path ≤ 128 bytes without
    spaces; with ``pairs_complete`` a page path needs its user_name in the same object."""
    for user, page in pairs:
        if obj.get(user) is not None and (not isinstance(obj[user], str)
                                          or not APP_BRAND.fullmatch(obj[user])):
            raise format_error(f"{where}{user} must be the Mini Program's original id with "
                               "@app (gh_...@app)")
        if obj.get(page) is not None:
            _bytes(obj[page], f"{where}{page}", 128)
            if not PAGE_PATH.fullmatch(obj[page]):
                raise format_error(f"{where}{page} must be a Mini Program page path")
            if pairs_complete and not obj.get(user):
                raise _missing(f"{where}{user}")


def check_images(obj: dict[str, Any], where: str) -> None:
    for name in IMAGES:
        if obj.get(name) is not None and not card_image_url_ok(obj[name]):
            raise WeChatError(40005, f"invalid image url: {where}{name} must be an image "
                                     "uploaded with media/uploadimg")


def check_links(detail: dict[str, Any], *, pairs_complete: bool = True) -> None:
    """Every Mini Program link of a ``<card type>`` object (a card, or a change merged into
    one)."""
    base = detail.get("base_info") or {}
    if isinstance(base, dict):
        check_app_brand(base, BASE_APP_BRAND, "base_info.", pairs_complete=pairs_complete)
    check_app_brand(detail, MEMBER_APP_BRAND, "", pairs_complete=pairs_complete)
    for name in CELLS:
        cell = detail.get(name)
        if isinstance(cell, dict):
            check_app_brand(cell, CELL_APP_BRAND, f"{name}.", pairs_complete=pairs_complete)
        elif cell is not None:
            raise format_error(f"{name} must be an object")


def _check_base(base: dict[str, Any], card_type: str, now: float) -> None:
    for name, limit in BASE_BYTES.items():
        if base.get(name) is not None:
            _bytes(base[name], f"base_info.{name}", limit)
    check_images(base, "base_info.")
    if "code_type" in base and base["code_type"] not in CODE_TYPES:
        raise WeChatError(40072, "invalid code type")
    if "color" in base and base["color"] not in COLORS:
        raise format_error("base_info.color is not one of WeChat's colour names")
    for name in ("use_custom_code", "bind_openid", "can_share", "can_give_friend"):
        if name in base:
            _bool(base[name], f"base_info.{name}")
    for name in ("get_limit", "use_limit"):
        if name in base:
            _int(base[name], f"base_info.{name}")
    if "date_info" in base:
        _check_date(base["date_info"], card_type, now)


def _check_date(date_info: Any, card_type: str, now: float) -> None:
    if not isinstance(date_info, dict) or date_info.get("type") not in DATE_TYPES:
        raise WeChatError(40079, "invalid time: date_info.type")
    kind = date_info["type"]
    if kind == "DATE_TYPE_PERMANENT" and card_type != "MEMBER_CARD":
        raise WeChatError(40079, "invalid time: DATE_TYPE_PERMANENT is for member cards")
    if kind == "DATE_TYPE_FIX_TIME_RANGE":
        begin, end = date_info.get("begin_timestamp"), date_info.get("end_timestamp")
        if not all(isinstance(t, int) and not isinstance(t, bool) for t in (begin, end)):
            raise WeChatError(40079, "invalid time: begin_timestamp and end_timestamp")
        if end <= begin or end <= now:
            raise WeChatError(40079, "invalid time: end_timestamp")
    if kind == "DATE_TYPE_FIX_TERM":
        term = date_info.get("fixed_term")
        if isinstance(term, bool) or not isinstance(term, int) or term < 1:
            raise WeChatError(40079, "invalid time: fixed_term")
        start = date_info.get("fixed_begin_term", 0)
        if isinstance(start, bool) or not isinstance(start, int) or start < 0:
            raise WeChatError(40079, "invalid time: fixed_begin_term")


def _check_type_fields(card_type: str, detail: dict[str, Any], *, creating: bool) -> None:
    text = TEXT_FIELD.get(card_type)
    if text:
        if creating and detail.get(text) in (None, ""):
            raise _missing(text)
        if text in detail:
            _bytes(detail[text], text, 3072)
    if card_type == "CASH" and creating:
        if "reduce_cost" not in detail:
            raise _missing("reduce_cost")
        _int(detail["reduce_cost"], "reduce_cost", 1)
        _int(detail.get("least_cost", 0), "least_cost")
    if card_type == "DISCOUNT" and creating:
        if "discount" not in detail:
            raise _missing("discount")
        _int(detail["discount"], "discount", 1, 99)
    if card_type == "MEMBER_CARD":
        _check_member(detail, creating=creating)


def _check_member(detail: dict[str, Any], *, creating: bool) -> None:
    if creating:
        for name in ("supply_bonus", "supply_balance"):
            if name not in detail:
                raise _missing(name)
    for name in ("supply_bonus", "supply_balance", "auto_activate", "wx_activate",
                 "wx_activate_after_submit"):
        if name in detail:
            _bool(detail[name], name)
    for name in ("background_pic_url", "bonus_url", "balance_url", "activate_url",
                 "wx_activate_after_submit_url"):
        if detail.get(name) is not None:
            _bytes(detail[name], name, 128)
    check_images(detail, "")
    if detail.get("wx_activate") and detail.get("auto_activate"):
        raise format_error("auto_activate and wx_activate exclude each other")
    if detail.get("wx_activate") and detail.get("activate_url"):
        raise format_error("wx_activate and activate_url exclude each other")
    brand = detail.get("activate_app_brand_user_name")
    if brand is not None:
        if not isinstance(brand, str) or not APP_BRAND.fullmatch(brand):
            raise format_error("activate_app_brand_user_name must be the Mini Program's "
                          "original id with @app (gh_...@app)")
        if not (detail.get("wx_activate") and detail.get("wx_activate_after_submit")):
            raise format_error("activate_app_brand_user_name needs wx_activate and "
                          "wx_activate_after_submit")
    if detail.get("activate_app_brand_pass") is not None:
        if brand is None:
            raise _missing("activate_app_brand_user_name")
        _bytes(detail["activate_app_brand_pass"], "activate_app_brand_pass", 128)
    for i in (1, 2, 3):
        field = detail.get(f"custom_field{i}")
        if field is None:
            continue
        if not isinstance(field, dict) or not (field.get("name_type") or field.get("name")):
            raise _missing(f"custom_field{i}.name_type")
        if field.get("name") is not None:
            _bytes(field["name"], f"custom_field{i}.name", 15)


def check_update(card_type: str, change: Any, now: float) -> bool:
    """Validate a card/update ``<type>`` object; True when the change needs review."""
    if not isinstance(change, dict) or not change:
        raise _missing(card_type.lower())
    base = change.get("base_info", {})
    if not isinstance(base, dict):
        raise format_error("base_info must be an object")
    for name in base:
        if name not in UPDATABLE_BASE:
            raise format_error(f"base_info.{name} cannot be changed by card/update")
    allowed = ("base_info", TEXT_FIELD.get(card_type, "")) + (
        UPDATABLE_MEMBER if card_type == "MEMBER_CARD" else ())
    for name in change:
        if name not in allowed:
            raise format_error(f"{name} cannot be changed by card/update")
    _check_base(base, card_type, now)
    _check_type_fields(card_type, change, creating=False)
    check_links(change, pairs_complete=False)  # pairs: judged on the card with the change
    return any(n in base for n in REVIEWED) or any(n in change for n in REVIEWED)
