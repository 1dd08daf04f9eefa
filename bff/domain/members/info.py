"""The caller's member-card info, from ``/card/membercard/userinfo/get``, owner only.

WeChat's answer for a code is kept a minute (``keys.member_info``), sealed like every personal
value: a member page opened again costs the merchant's quota once a minute, and front ends
asking at once share one call. Whatever changes it calls ``forget_member_info`` once the change
has reached WeChat: the service's own changes (member updates, activation, a code made
unavailable, a redemption) once their call has returned, either way, and WeChat's pushes about
the code when they are handled (``bff.domain.events.handlers``). A change WeChat makes without
a push is seen within ``MEMBER_INFO_SECONDS``.

The key holds the sealed answer, a change's marker (``~chg:<random>``) or the lease of the
request asking WeChat (``~ask:<random>``). A request that finds no answer takes a lease over
what it found (compare-and-set) before asking; its answer is kept only over its own lease. A
change replaces the lease with its marker, and an expired or evicted lease is no longer there:
an answer read before a change is never kept after it. Requests that find another's lease wait
``WAIT_SECONDS`` for its answer before asking themselves.

An answer is kept ``REFRESH_SECONDS`` past its minute: the first request after the minute
(a claim at ``keys.member_info_refresh``) asks WeChat again and keeps the new answer over the
old one (compare-and-set: not over a change's marker), while the others are answered with the
old one meanwhile. So the minute's end is not a moment when every request waits for WeChat.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import time
from typing import TYPE_CHECKING, Any

import redis

from bff.domain.card_package import refresh_when_missing
from bff.domain.holdings import get_holding
from bff.domain.members.members import member_code_of, read_member, readable_fields
from bff.domain.ownership import Caller, holdings_of_caller, is_gone, translate_code_error
from bff.domain.personal import PersonalDataError, seal, unseal
from bff.ground.errors import Forbidden, NotFound
from bff.ground.services import Services
from bff.ground.store import STORE_ERRORS, coalesce, keys, release_claim
from bff.ground.wechat.errors import Busy, QuotaExceeded, WeChatApiError, WeChatUnavailable

if TYPE_CHECKING:
    from bff.ground.config import Settings
    from bff.ground.wechat.api import WeChatApi

log = logging.getLogger(__name__)

MEMBER_INFO_SECONDS = 60
REFRESH_SECONDS = 15  # kept this much longer, for one request to refresh it meanwhile
CHANGED_SECONDS = 60  # a change's marker and a lease
MARKER = "~"  # a change's marker and a lease start with it; a sealed answer never does
_CHANGED, _ASKING = MARKER + "chg:", MARKER + "ask:"
WAIT_SECONDS = 2.0  # for another request's answer (one userinfo/get, as a rule)
POLL_SECONDS = 0.02
_TRIES = 5  # leases taken over a key that changed in between, before asking without one

# KEYS[1]; ARGV[1] = what the key should hold ('' for nothing), ARGV[2] = the new value,
# ARGV[3] = its TTL. Taking a lease (over nothing, a marker, an unreadable answer, a lease
# given up on) and keeping an answer (over this request's own lease, never over nothing).
_SET_IF_UNCHANGED = """
local now = redis.call('GET', KEYS[1])
if (now == false and ARGV[1] == '') or now == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3]) return 1
end
return 0
"""


def sealing_context(card_id: str, code: str) -> str:
    return f"member-info:{card_id}:{code}"


def forget_member_info(r: redis.Redis, card_id: str, code: str) -> None:
    """After a change to the member of ``code`` reached WeChat: the kept answer goes, and no
    answer asked for before now is kept. A store failure is logged (the answer may then show
    for up to ``MEMBER_INFO_SECONDS``), never raised over the change's own outcome."""
    try:
        r.set(keys.member_info(card_id, code), _CHANGED + secrets.token_hex(8),
              ex=CHANGED_SECONDS)
    except STORE_ERRORS as e:
        log.warning("member info not forgotten: %s", type(e).__name__)


def wechat_member_info(r: redis.Redis, settings: Settings, wechat: WeChatApi, card_id: str,
                       code: str) -> dict[str, Any]:
    """WeChat's ``membercard/userinfo/get`` answer for ``code``, kept ``MEMBER_INFO_SECONDS``."""
    key, context = keys.member_info(card_id, code), sealing_context(card_id, code)
    held, ttl_ms = coalesce.send(r, lambda pipe: [pipe.get(key), pipe.pttl(key)])
    if held and not held.startswith(MARKER):
        try:
            kept: dict[str, Any] | None = unseal(settings, held, context)
        except PersonalDataError:  # sealed under a key since retired: asked again below
            kept = None
        if kept is not None:
            if ttl_ms > REFRESH_SECONDS * 1000 or not r.set(
                    keys.member_info_refresh(card_id, code), "1", nx=True,
                    ex=REFRESH_SECONDS):
                return kept
            try:  # this request refreshes it
                return _ask(r, settings, wechat, card_id, code, over=held)
            except (WeChatUnavailable, Busy, QuotaExceeded):  # WeChat failing for now: the
                return kept  # kept answer stands for its last REFRESH_SECONDS
    lease = _ASKING + secrets.token_hex(8)
    give_up_waiting = time.monotonic() + WAIT_SECONDS
    tries = 0
    while True:
        if held and not held.startswith(MARKER):
            try:
                return unseal(settings, held, context)
            except PersonalDataError:  # sealed under a key since retired: asked again
                pass
        elif held and held.startswith(_ASKING) and time.monotonic() < give_up_waiting:
            time.sleep(POLL_SECONDS)  # another request is asking: its answer is coming
            held = r.get(key)
            continue
        if r.eval(_SET_IF_UNCHANGED, 1, key, held or "", lease, CHANGED_SECONDS):
            break
        tries += 1
        if tries == _TRIES:
            lease = ""  # the key keeps changing: ask, keep nothing
            break
        held = r.get(key)  # it changed in between: look again
    return _ask(r, settings, wechat, card_id, code, over=lease)


def _ask(r: redis.Redis, settings: Settings, wechat: WeChatApi, card_id: str, code: str, *,
         over: str) -> dict[str, Any]:
    """WeChat's answer, kept only if the key still holds ``over`` (this request's lease, or the
    answer it refreshes); a lease is given back when WeChat fails."""
    key = keys.member_info(card_id, code)
    try:
        info: dict[str, Any] = wechat.membercard_userinfo_get(card_id, code)
    except BaseException:
        if over.startswith(_ASKING):
            with contextlib.suppress(*STORE_ERRORS):
                release_claim(r, key, over)  # the next request asks at once
        raise
    if over:
        try:
            r.eval(_SET_IF_UNCHANGED, 1, key, over,
                   seal(settings, info, sealing_context(card_id, code)),
                   MEMBER_INFO_SECONDS + REFRESH_SECONDS)
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
