"""WeChat's rules on a card that the service checks in more than one place (the schema of a new
card, and a change judged against the card it changes)."""

from __future__ import annotations

from typing import Any

# WeChat's links from a card to a Mini Program page: (user_name, page path) pairs, each field
# optional, a page path only with its Mini Program. card/create and card/update take them all.
APP_BRAND_PAIRS: dict[str, tuple[tuple[str, str], ...]] = {
    "base_info": tuple((f"{entry}_app_brand_user_name", f"{entry}_app_brand_pass")
                       for entry in ("custom", "promotion", "center")),
    "member_card": tuple((f"{entry}_app_brand_user_name", f"{entry}_app_brand_pass")
                         for entry in ("activate", "bonus", "balance")),
}
# Inside custom_field1..3 and custom_cell1/2.
CELL_APP_BRAND_PAIR = ("app_brand_user_name", "app_brand_pass")

# Type fields card/update may carry, and the card types they belong to.
UPDATABLE_TYPE_FIELDS: dict[str, tuple[str, ...]] = {
    "deal_detail": ("GROUPON",), "gift": ("GIFT",), "default_detail": ("GENERAL_COUPON",),
    **{name: ("MEMBER_CARD",) for name in (
        "background_pic_url", "prerogative", "supply_bonus", "supply_balance", "bonus_url",
        "balance_url", "bonus_rule", "discount", "auto_activate", "wx_activate",
        "wx_activate_after_submit", "wx_activate_after_submit_url", "activate_url",
        "activate_app_brand_user_name", "activate_app_brand_pass", "custom_field1",
        "custom_field2", "custom_field3", "custom_cell1", "custom_cell2", "bonus_cleared",
        "bonus_rules", "balance_rules", "bonus_app_brand_user_name", "bonus_app_brand_pass",
        "balance_app_brand_user_name", "balance_app_brand_pass")},
}


def app_brand_problems(data: dict[str, Any], pairs: tuple[tuple[str, str], ...]
                       ) -> dict[str, list[str]]:
    """``{field: [problem]}`` for a Mini Program page path given without its Mini Program."""
    return {page: [f"needs {user}"] for user, page in pairs
            if data.get(page) and not data.get(user)}


def card_app_brand_problems(detail: dict[str, Any]) -> dict[str, Any]:
    """The same for a whole ``<card type>`` object (a card, or a card with a change merged)."""
    problems: dict[str, Any] = {}
    base = app_brand_problems(detail.get("base_info") or {}, APP_BRAND_PAIRS["base_info"])
    if base:
        problems["base_info"] = base
    problems.update(app_brand_problems(detail, APP_BRAND_PAIRS["member_card"][1:]))
    for name in ("custom_field1", "custom_field2", "custom_field3", "custom_cell1",
                 "custom_cell2"):
        cell = detail.get(name)
        if isinstance(cell, dict):
            wrong = app_brand_problems(cell, (CELL_APP_BRAND_PAIR,))
            if wrong:
                problems[name] = wrong
    return problems


def activation_mode_problems(member_card: dict[str, Any]) -> dict[str, list[str]]:
    """A member card's activation settings against WeChat's rules: ``{field: [problem]}``.

    One mode (``auto_activate``, ``wx_activate`` or an ``activate_url``); the Mini Program
    flow (the activation plug-in) is ``wx_activate`` + ``wx_activate_after_submit`` +
    ``activate_app_brand_user_name`` (+ ``activate_app_brand_pass``).
    """
    data = member_card
    problems: dict[str, list[str]] = {}
    if data.get("wx_activate") and data.get("auto_activate"):
        problems["auto_activate"] = ["auto_activate and wx_activate exclude each other"]
    if data.get("wx_activate") and data.get("activate_url"):
        problems["activate_url"] = ["wx_activate ignores activate_url: give one of them"]
    if data.get("wx_activate_after_submit") and not data.get("wx_activate"):
        problems["wx_activate_after_submit"] = ["needs wx_activate"]
    if data.get("activate_app_brand_user_name") and not (
            data.get("wx_activate") and data.get("wx_activate_after_submit")):
        problems["activate_app_brand_user_name"] = [
            "the Mini Program flow needs wx_activate and wx_activate_after_submit"]
    if data.get("activate_app_brand_pass") and not data.get("activate_app_brand_user_name"):
        problems["activate_app_brand_pass"] = ["needs activate_app_brand_user_name"]
    return problems
