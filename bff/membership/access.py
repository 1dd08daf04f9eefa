"""Which code a request is about, and whether the caller owns it.

A code is the caller's when its Official Account openid (from the recorded holding, else
``/card/code/get``) is the caller's; while the caller's OA openid is not known yet, a holding
recorded for the caller's Mini Program openid also counts, and so does an owner whose unionid
(``/cgi-bin/user/info``) is the caller's (the link is then recorded).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import redis

from bff.errors import Conflict, Forbidden, NotFound, Unprocessable
from bff.holdings import Holding, get_holding, record_holding
from bff.identity import IdentityConflict, link_openids
from bff.wechat.errors import ErrCode, WeChatApiError

if TYPE_CHECKING:
    from bff.wechat.api import WeChatApi


class Caller(Protocol):
    mp_openid: str | None
    oa_openid: str | None


def translate_code_error(e: WeChatApiError) -> Exception:
    """WeChat errcodes about a code, in the user's words; others are left to the app's mapping."""
    if e.errcode == ErrCode.INVALID_SERIAL_CODE:
        return NotFound("No such card code", errcode=e.errcode)
    if e.errcode == ErrCode.CARD_DELETED_OR_GIFTING:
        return Conflict("The card was deleted or is being given away", errcode=e.errcode)
    if e.errcode == ErrCode.CODE_CONSUMED:
        return Conflict("The card code has already been used", errcode=e.errcode)
    return e


def resolve_code(wechat: WeChatApi, *, code: str | None, encrypt_code: str | None) -> str:
    """The real code: ``code`` as given, or ``encrypt_code`` normalised once and decrypted."""
    if code:
        return code
    if not encrypt_code:
        raise Unprocessable("Send code or encrypt_code")
    try:
        answer = wechat.code_decrypt(encrypt_code)
    except WeChatApiError as e:
        raise translate_code_error(e) from e
    real = str(answer.get("code") or "")
    if not real:
        raise NotFound("The encrypt_code did not decrypt to a card code")
    return real


def ensure_owner(
    r: redis.Redis, wechat: WeChatApi, caller: Caller, *, card_id: str, code: str
) -> Holding:
    """The holding of ``code`` when the caller owns it; 403 when not, 404 when unknown."""
    holding = get_holding(r, code)
    if holding and holding.card_id and holding.card_id != card_id:
        raise NotFound("This code does not belong to that card")
    if holding and _owns(holding, caller):
        return holding
    if holding and holding.oa_openid:
        raise Forbidden("This card code belongs to another user")
    try:
        answer = wechat.code_get(code, card_id=card_id)
    except WeChatApiError as e:
        raise translate_code_error(e) from e
    upstream_card = str((answer.get("card") or {}).get("card_id") or card_id)
    if upstream_card != card_id:
        raise NotFound("This code does not belong to that card")
    owner = str(answer.get("openid") or "")
    if not owner or not _same_user(r, wechat, caller, owner):
        raise Forbidden("This card code belongs to another user, or your WeChat account is "
                        "not linked to the Official Account yet")
    return record_holding(r, Holding(
        card_id=card_id, code=code, oa_openid=owner, mp_openid=caller.mp_openid or "",
        status=str(answer.get("user_card_status") or "NORMAL"),
        outer_str=str(answer.get("outer_str") or ""),
    ))


def _same_user(r: redis.Redis, wechat: WeChatApi, caller: Caller, oa_openid: str) -> bool:
    """Is ``oa_openid`` the caller? Known link first, else the unionid of ``/cgi-bin/user/info``."""
    if caller.oa_openid:
        return caller.oa_openid == oa_openid
    unionid = getattr(caller, "unionid", None)
    if not unionid:
        return False
    try:
        info = wechat.user_info(oa_openid)
    except WeChatApiError:
        return False
    if info.get("unionid") != unionid:
        return False
    try:
        link_openids(r, source="user_info", unionid=unionid, oa_openid=oa_openid,
                     mp_openid=caller.mp_openid)
    except IdentityConflict:
        return False
    return True


def _owns(holding: Holding, caller: Caller) -> bool:
    if holding.oa_openid and caller.oa_openid:
        return holding.oa_openid == caller.oa_openid
    return bool(holding.mp_openid and caller.mp_openid and holding.mp_openid == caller.mp_openid)
