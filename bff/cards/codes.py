"""Codes for their owner: decrypt an encrypt_code, list the caller's cards, self-redeem.

Ownership: a code belongs to the OA openid WeChat gave it to (the holding recorded from the
``user_get_card`` event, else ``/card/code/get``). A Mini Program caller whose OA openid is not
known yet is matched through unionid (identity links, else ``/cgi-bin/user/info``, cached), or
through the shared code (seed 002 steps 5-7): a code of a card this user just signed an add-card
for links the two openids (source ``shared_code``).
"""

from __future__ import annotations

import logging

import redis

from bff.errors import BadRequest, Forbidden, NotFound
from bff.holdings import Holding, get_holding, holdings_of, record_holding
from bff.identity import IdentityConflict, find_identity, link_openids
from bff.profiles import claim_pool_code, get_profile, pool_card_of, pool_holder
from bff.sessions.auth import SessionUser
from bff.store import keys
from bff.wechat.api import WeChatApi
from bff.wechat.errors import ErrCode, WeChatApiError, WeChatError

from .signing import take_pending_claim

log = logging.getLogger(__name__)

NOT_YOURS = "this code belongs to another user"
USERINFO_CACHE_SECONDS = 86400
HIDDEN_STATUSES = ("DELETE", "GIFTED")
CLOCK_SKEW = 5  # seconds between our clock and the push's CreateTime


def decrypt_code(wechat: WeChatApi, encrypt_code: str) -> str:
    try:
        return str(wechat.code_decrypt(encrypt_code)["code"])
    except WeChatApiError as e:
        if e.errcode in (ErrCode.INVALID_CREDENTIAL, ErrCode.INVALID_ACCESS_TOKEN,
                         ErrCode.ACCESS_TOKEN_EXPIRED, ErrCode.BUSY, ErrCode.DAILY_QUOTA,
                         ErrCode.MINUTE_QUOTA):
            raise
        raise BadRequest("the encrypt_code could not be decrypted (it must come from this "
                         "Official Account's cards, URL-decoded once)", errcode=e.errcode) from None


def code_facts(r: redis.Redis, wechat: WeChatApi, code: str, card_id: str | None) -> dict:
    """``{card_id, oa_openid, status, can_consume, received_at}`` from the holding or WeChat."""
    h = get_holding(r, code)
    if h and h.oa_openid and h.card_id:
        facts = {"card_id": h.card_id, "oa_openid": h.oa_openid, "status": h.status,
                 "can_consume": h.status == "NORMAL", "received_at": h.received_at}
    else:
        try:
            info = wechat.code_get(code, card_id=card_id or pool_card_of(r, code))
        except WeChatApiError as e:
            if e.errcode == ErrCode.INVALID_SERIAL_CODE:
                raise NotFound("unknown code", errcode=e.errcode) from None
            raise
        facts = {"card_id": (info.get("card") or {}).get("card_id") or card_id or "",
                 "oa_openid": info.get("openid") or "",
                 "status": info.get("user_card_status") or "NORMAL",
                 "can_consume": bool(info.get("can_consume")), "received_at": 0}
    if card_id and facts["card_id"] != card_id:
        raise NotFound("the code is not a code of this card")
    return facts


def unionid_of(r: redis.Redis, wechat: WeChatApi, oa_openid: str) -> str | None:
    """The unionid of an OA openid: identity links, else /cgi-bin/user/info (cached 1 day)."""
    ident = find_identity(r, oa_openid=oa_openid)
    if ident and ident.unionid:
        return ident.unionid
    cached = r.get(keys.userinfo_unionid(oa_openid))
    if cached is not None:
        return cached or None
    try:
        unionid = wechat.user_info(oa_openid).get("unionid") or ""
    except WeChatError:
        return None
    r.set(keys.userinfo_unionid(oa_openid), unionid, ex=USERINFO_CACHE_SECONDS)
    return unionid or None


def ensure_owner(
    r: redis.Redis, wechat: WeChatApi, user: SessionUser, *, code_oa: str, card_id: str,
    code: str = "", received_at: int = 0, allow_shared_code: bool = False,
) -> None:
    """Return when the caller holds the code (linking openids on the way), else ``Forbidden``."""
    if not code_oa:
        raise Forbidden(NOT_YOURS)
    caller_oa = user.oa_openid
    if caller_oa:
        if caller_oa != code_oa:
            raise Forbidden(NOT_YOURS)
        return
    if user.unionid:
        unionid = unionid_of(r, wechat, code_oa)
        if unionid and unionid == user.unionid:
            _link(r, user, "user_info", unionid=unionid, oa_openid=code_oa)
            return
        if unionid:
            raise Forbidden(NOT_YOURS)
    if allow_shared_code and user.mp_openid and _shared_code_fits(
            r, user.mp_openid, card_id, code, received_at):
        _link(r, user, "shared_code", oa_openid=code_oa)
        return
    raise Forbidden(NOT_YOURS)


def _shared_code_fits(r: redis.Redis, mp_openid: str, card_id: str, code: str,
                      received_at: int) -> bool:
    """Seed 002 steps 5-7: this Mini Program user just signed an add-card for this card, the
    code arrived after that signature, and a pool code was reserved for this very user."""
    holder = pool_holder(r, card_id, code)
    if holder is not None and holder != mp_openid:
        return False
    signed_at = take_pending_claim(r, mp_openid, card_id)
    if signed_at is None:
        return False
    return not received_at or received_at >= signed_at - CLOCK_SKEW


def _link(r: redis.Redis, user: SessionUser, source: str, **ids: str) -> None:
    try:
        link_openids(r, source=source, mp_openid=user.mp_openid, **ids)
    except IdentityConflict:
        raise Forbidden(NOT_YOURS) from None
    user.forget_oa_openid()


def decrypt_for_owner(
    r: redis.Redis, wechat: WeChatApi, user: SessionUser, encrypt_code: str,
    card_id: str | None = None,
) -> dict:
    code = decrypt_code(wechat, encrypt_code)
    facts = code_facts(r, wechat, code, card_id)
    ensure_owner(r, wechat, user, code_oa=facts["oa_openid"], card_id=facts["card_id"],
                 code=code, received_at=facts["received_at"], allow_shared_code=True)
    record_holding(r, Holding(card_id=facts["card_id"], code=code, oa_openid=facts["oa_openid"],
                              mp_openid=user.mp_openid or "", status=facts["status"]))
    if get_profile(r, facts["card_id"]).code_mode == "pool":
        claim_pool_code(r, facts["card_id"], code)
    return {"card_id": facts["card_id"], "code": code, "user_card_status": facts["status"],
            "can_consume": facts["can_consume"]}


def my_cards(r: redis.Redis, user: SessionUser) -> list[dict]:
    oa = user.oa_openid
    found = holdings_of(r, oa_openid=oa, mp_openid=user.mp_openid)
    return [{"card_id": h.card_id, "code": h.code, "user_card_status": h.status,
             "received_at": h.received_at}
            for h in found
            if h.status not in HIDDEN_STATUSES and not (oa and h.oa_openid and h.oa_openid != oa)]
