"""Card definitions as a merchant writes them (WeChat's card/create JSON), for tests."""

from __future__ import annotations

import copy
import time
from typing import Any

BASE_INFO: dict[str, Any] = {
    "logo_url": "http://mmbiz.qpic.cn/mmbiz/iaL1LJM1mF9aRKPZJkmG8xXhiaHqkKSVMMWeN3hLut7X7h/0",
    "brand_name": "海底捞",
    "code_type": "CODE_TYPE_QRCODE",
    "title": "双人套餐券",
    "color": "Color010",
    "notice": "请出示二维码",
    "description": "不可与其他优惠同享",
    "sku": {"quantity": 500},
    "date_info": {"type": "DATE_TYPE_FIX_TERM", "fixed_term": 30, "fixed_begin_term": 0},
    "get_limit": 3,
    "can_share": True,
    "can_give_friend": True,
}
TYPE_FIELDS: dict[str, dict[str, Any]] = {
    "GROUPON": {"deal_detail": "双人套餐：锅底一份，菜品四份"},
    "CASH": {"least_cost": 10000, "reduce_cost": 1000},
    "DISCOUNT": {"discount": 30},
    "GIFT": {"gift": "甜品一份"},
    "GENERAL_COUPON": {"default_detail": "全场九折"},
}


def coupon(card_type: str = "GROUPON", **base: Any) -> dict[str, Any]:
    """``{"card": {...}}`` of a coupon; ``base`` overrides base_info fields."""
    base_info = {**copy.deepcopy(BASE_INFO), **base}
    return {"card": {"card_type": card_type, card_type.lower(): {
        "base_info": base_info, **copy.deepcopy(TYPE_FIELDS[card_type])}}}


def member_card_for_mini_program(**extra: Any) -> dict[str, Any]:
    """A member card activated through the plug-in, jumping back to the Mini Program."""
    base_info = copy.deepcopy(BASE_INFO)
    base_info.update(title="会员卡", date_info={"type": "DATE_TYPE_PERMANENT"},
                     sku={"quantity": 100000}, get_limit=1)
    return {"card": {"card_type": "MEMBER_CARD", "member_card": {
        "base_info": base_info,
        "background_pic_url": "https://mmbiz.qlogo.cn/mmbiz/bg.jpg",
        "prerogative": "会员专享价，积分抵现",
        "wx_activate": True,
        "wx_activate_after_submit": True,
        "activate_app_brand_user_name": "gh_86a091e50ad4@app",
        "activate_app_brand_pass": "pages/member/activate",
        "supply_bonus": True,
        "supply_balance": True,
        "custom_field1": {"name_type": "FIELD_NAME_TYPE_LEVEL", "url": "https://example.com/l"},
        **extra,
    }}}


def time_range(days: int = 30) -> dict[str, Any]:
    now = int(time.time())
    return {"type": "DATE_TYPE_FIX_TIME_RANGE", "begin_timestamp": now,
            "end_timestamp": now + days * 86400}
