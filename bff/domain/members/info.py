"""The caller's member-card info, from ``/card/membercard/userinfo/get``, owner only."""

from __future__ import annotations

from typing import Any

import redis

from bff.domain.card_package import refresh_when_missing
from bff.domain.holdings import get_holding
from bff.domain.members.members import get_member, member_code_of, readable_fields
from bff.domain.ownership import Caller, holdings_of_caller, is_gone, translate_code_error
from bff.ground.errors import Forbidden, NotFound
from bff.ground.services import Services
from bff.ground.wechat.errors import WeChatApiError


def caller_code(r: redis.Redis, caller: Caller, card_id: str) -> str | None:
    """The caller's code of ``card_id``: the one they became a member with, else a held one.

    Only through the caller's Official Account openid (``bff.domain.ownership``): a Mini Program
    openid alone proves nothing."""
    oa = caller.oa_openid
    if not oa:
        return None
    code = member_code_of(r, card_id, oa_openid=oa, mp_openid=None)
    if code:
        holding = get_holding(r, code)
        # The index may be stale (card given away): trust it only while the code is still theirs.
        if holding is None or (holding.oa_openid == oa and not is_gone(holding.status)):
            return code
    held = [h for h in holdings_of_caller(r, caller)
            if h.card_id == card_id and not is_gone(h.status)]
    return held[0].code if held else None


def member_info(svc: Services, caller: Caller, card_id: str) -> dict[str, Any]:
    """The member info of the caller's code of ``card_id`` (owner only)."""
    r, settings, wechat = svc.redis, svc.settings, svc.wechat
    code = caller_code(r, caller, card_id)
    # The whole card package, at most once a minute per user (not per card_id: made-up
    # card_ids must not each cost a getcardlist)
    if not code and refresh_when_missing(r, wechat, caller.oa_openid):
        code = caller_code(r, caller, card_id)  # WeChat knew a card the index had missed
    if not code:
        raise NotFound("You hold no member card of this kind")
    try:
        info = wechat.membercard_userinfo_get(card_id, code)
    except WeChatApiError as e:
        raise translate_code_error(e) from e
    owner = str(info.get("openid") or "")
    if owner != caller.oa_openid:
        raise Forbidden("This member card belongs to another user")
    stored = get_member(r, settings, card_id=card_id, code=code)
    fields = readable_fields(info.get("user_info")) or (stored.fields if stored else {})
    number = str(info.get("membership_number") or (stored.membership_number if stored else ""))
    return {
        "card_id": card_id,
        "code": code,
        "membership_number": number or None,
        "bonus": int(info.get("bonus") or 0),
        "balance": int(info.get("balance") or 0),
        "user_card_status": str(info.get("user_card_status") or "NORMAL"),
        "has_active": bool(info.get("has_active", bool(number))),
        "fields": fields,
    }
