"""WeChat's rules on a card that the service checks in more than one place (the schema of a new
card, and a change judged against the card it changes)."""

from __future__ import annotations

from typing import Any

# Type fields card/update may carry, and the card types they belong to.
UPDATABLE_TYPE_FIELDS: dict[str, tuple[str, ...]] = {
    "deal_detail": ("GROUPON",), "gift": ("GIFT",), "default_detail": ("GENERAL_COUPON",),
    **{name: ("MEMBER_CARD",) for name in (
        "background_pic_url", "prerogative", "supply_bonus", "supply_balance", "bonus_url",
        "balance_url", "bonus_rule", "discount", "auto_activate", "wx_activate",
        "wx_activate_after_submit", "wx_activate_after_submit_url", "activate_url",
        "activate_app_brand_user_name", "activate_app_brand_pass", "custom_field1",
        "custom_field2", "custom_field3", "custom_cell1", "bonus_cleared", "bonus_rules",
        "balance_rules")},
}


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
