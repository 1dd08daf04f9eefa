"""Querying a code before redemption (``card/code/get`` with ``check_consume``).

Finding a code (``resolve_code``) and what WeChat's errcodes about a code mean live in
``bff.ownership``. No Flask here.
"""

from __future__ import annotations

from typing import Any

from bff.ownership import ALREADY_REDEEMED, resolve_code, translate_code_error
from bff.wechat.api import WeChatApi
from bff.wechat.errors import WeChatApiError

__all__ = ["ALREADY_REDEEMED", "query_code", "resolve_code", "translate"]

translate = translate_code_error  # the one mapping of code errcodes (bff.ownership)


def query_code(wechat: WeChatApi, code: str, card_id: str | None = None) -> dict[str, Any]:
    """``card/code/get`` with ``check_consume``: a redeemable code's details, or a refusal."""
    try:
        answer = wechat.code_get(code, card_id=card_id, check_consume=True)
    except WeChatApiError as e:
        raise translate(e) from None
    card = answer.get("card") or {}
    return {
        "card_id": card.get("card_id") or card_id,
        "code": code,
        "openid": answer.get("openid"),
        "can_consume": bool(answer.get("can_consume")),
        "user_card_status": answer.get("user_card_status"),
        "begin_time": card.get("begin_time"),
        "end_time": card.get("end_time"),
    }
