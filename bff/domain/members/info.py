"""The caller's member-card info, from ``/card/membercard/userinfo/get``, owner only.

WeChat's answer for a code is kept a minute (``keys.member_info``), sealed like every personal
value: a member page opened again, or by many front ends at once, costs the merchant's quota
once. Whatever changes it calls ``forget_member_info`` once the change has reached WeChat: the
service's own changes (member updates, activation) once their call has returned, either way,
and WeChat's pushes about the code when they are handled (``bff.domain.events.handlers``).
Forgetting writes a new marker, and an answer is kept only if the key still holds what it held
before WeChat was asked: an answer read before a change is never kept after it. A change WeChat
makes without a push is seen within ``MEMBER_INFO_SECONDS``.
"""

from __future__ import annotations

import logging
import secrets
from typing import TYPE_CHECKING, Any

import redis

from bff.domain.card_package import refresh_when_missing
from bff.domain.holdings import get_holding
from bff.domain.members.members import member_code_of, read_member, readable_fields
from bff.domain.ownership import Caller, holdings_of_caller, is_gone, translate_code_error
from bff.domain.personal import PersonalDataError, seal, unseal
from bff.ground.errors import Forbidden, NotFound
from bff.ground.services import Services
from bff.ground.store import STORE_ERRORS, coalesce, keys
from bff.ground.wechat.errors import WeChatApiError

if TYPE_CHECKING:
    from bff.ground.config import Settings
    from bff.ground.wechat.api import WeChatApi

log = logging.getLogger(__name__)

MEMBER_INFO_SECONDS = 60
# A change's marker outlives any userinfo/get in flight (BFF_READ_TIMEOUT's bounds, the
# client's retries): an answer read before it cannot find the key as it was.
CHANGED_SECONDS = 60
_MARKER = "~"  # a change's marker starts with it; a sealed answer never does

# KEYS[1]; ARGV[1] = what the key held before WeChat was asked ('' for nothing), ARGV[2] = the
# sealed answer, ARGV[3] = its TTL. Kept only if no change came in between.
_KEEP_IF_UNCHANGED = """
local now = redis.call('GET', KEYS[1])
if (now == false and ARGV[1] == '') or now == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3]) return 1
end
return 0
"""


def sealing_context(card_id: str, code: str) -> str:
    return f"member-info:{card_id}:{code}"


def forget_member_info(r: redis.Redis, card_id: str, code: str) -> None:
    """After a change to the member of ``code`` reached WeChat: the kept answer goes, and none
    read before now is kept."""
    r.set(keys.member_info(card_id, code), _MARKER + secrets.token_hex(8), ex=CHANGED_SECONDS)


def wechat_member_info(r: redis.Redis, settings: Settings, wechat: WeChatApi, card_id: str,
                       code: str) -> dict[str, Any]:
    """WeChat's ``membercard/userinfo/get`` answer for ``code``, kept ``MEMBER_INFO_SECONDS``."""
    key, context = keys.member_info(card_id, code), sealing_context(card_id, code)
    [held] = coalesce.send(r, lambda pipe: [pipe.get(key)])
    held = held or ""
    if held and not held.startswith(_MARKER):
        try:
            return unseal(settings, held, context)
        except PersonalDataError:  # sealed under a key since retired: asked again
            pass
    info: dict[str, Any] = wechat.membercard_userinfo_get(card_id, code)
    try:
        r.eval(_KEEP_IF_UNCHANGED, 1, key, held, seal(settings, info, context),
               MEMBER_INFO_SECONDS)
    except STORE_ERRORS as e:  # the answer stands; the next request asks WeChat again
        log.warning("member info not kept: %s", type(e).__name__)
    return info


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
        info = wechat_member_info(r, settings, wechat, card_id, code)
    except WeChatApiError as e:
        raise translate_code_error(e) from e
    owner = str(info.get("openid") or "")
    if owner != caller.oa_openid:
        raise Forbidden("This member card belongs to another user")
    fields = readable_fields(info.get("user_info"))
    number = str(info.get("membership_number") or "")
    if not fields or not number:  # what WeChat left out, from the member record
        stored = read_member(r, settings, card_id=card_id, code=code)
        fields = fields or (stored.fields if stored else {})
        number = number or (stored.membership_number if stored else "")
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
