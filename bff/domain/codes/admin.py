"""Code administration: make a code unavailable, change a code, and a user's cards as WeChat
sees them (``bff.domain.card_package``), reconciled into the holdings index."""

from __future__ import annotations

from typing import Any

import redis

from bff.domain.card_package import reconcile_user_cards
from bff.domain.catalogue import UNKNOWN_CARD
from bff.domain.holdings import get_holding, rename_code, set_status
from bff.domain.members.info import forget_member_info
from bff.domain.members.members import get_member, store_member
from bff.domain.ownership import CODE_REFUSALS
from bff.ground.errors import NotFound, Refusals, Unprocessable, refusal
from bff.ground.services import Services
from bff.ground.store import keys
from bff.ground.wechat.api import WeChatApi
from bff.ground.wechat.errors import ErrCode, WeChatApiError

CODE_ADMIN_REFUSALS: Refusals = {
    **CODE_REFUSALS,
    **UNKNOWN_CARD,
    ErrCode.INVALID_OPENID: (NotFound, "WeChat knows no such user (an Official Account openid "
                                       "is needed)"),
    ErrCode.DATA_FORMAT_ERROR: (Unprocessable, "WeChat refused the request: {errmsg}"),
}


def _refused(e: WeChatApiError) -> Exception:
    return refusal(e, CODE_ADMIN_REFUSALS)


def make_unavailable(r: redis.Redis, wechat: WeChatApi, *, card_id: str, code: str,
                     reason: str | None) -> dict[str, Any]:
    """``card/code/unavailable``: the code can no longer be used; the holding says so."""
    try:
        wechat.code_unavailable(code, card_id=card_id, reason=reason)
    except WeChatApiError as e:
        raise _refused(e) from None
    finally:  # it has reached WeChat, or may have (WeChat pushes nothing for it)
        forget_member_info(r, card_id, code)
    if get_holding(r, code) is not None:
        set_status(r, code, "UNAVAILABLE")
    return {"card_id": card_id, "code": code, "user_card_status": "UNAVAILABLE"}


def change_code(svc: Services, *, card_id: str, code: str, new_code: str) -> dict[str, Any]:
    """``card/code/update``; the holding and the member record move to the new code."""
    r, settings, wechat = svc.redis, svc.settings, svc.wechat
    try:
        wechat.code_update(card_id, code, new_code)
    except WeChatApiError as e:
        raise _refused(e) from None
    moved = rename_code(r, code, new_code)
    member = get_member(r, settings, card_id=card_id, code=code)
    if member is not None:
        store_member(r, settings, card_id=card_id, code=new_code,
                     oa_openid=member.oa_openid or None, mp_openid=member.mp_openid or None,
                     membership_number=member.membership_number or None,
                     fields=member.fields, source=member.source or "code_update")
        pipe = r.pipeline(transaction=False)
        pipe.delete(keys.member(card_id, code))
        pipe.srem(keys.members_by_code(code), card_id)
        if member.membership_number:
            pipe.srem(keys.members_by_number(member.membership_number), f"{card_id} {code}")
        pipe.execute()
    return {"card_id": card_id, "code": new_code, "old_code": code,
            "holding_moved": moved is not None}


def user_cards(r: redis.Redis, wechat: WeChatApi, oa_openid: str,
               card_id: str | None = None) -> dict[str, Any]:
    """The user's cards as WeChat sees them, reconciled into the holdings index."""
    try:
        return reconcile_user_cards(r, wechat, oa_openid, card_id)
    except WeChatApiError as e:
        raise _refused(e) from None
