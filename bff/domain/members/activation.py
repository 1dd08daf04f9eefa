"""Member-card activation from the plug-in's ``activate_ticket``, once per ticket and code.

``activatetempinfo/get`` -> readable form fields -> membership number per the card's profile ->
``/card/membercard/activate`` -> member record (fields sealed) -> answer.

A retry, or ten requests at once, with the same ticket and code make one upstream activation,
as ``bff.domain.once`` runs every key: a request claims the ticket and code, does the work and
stores the sealed answer; the others wait (bounded) for that answer, or get the failure of the
attempt they waited on (a refusal is never stored as an answer, and one nobody waits on leaves
no key behind). An activate is never resent blindly: it is marked
before it is sent (cleared on a definite refusal); an attempt that finds the mark of one whose
outcome was lost (a timeout, or Redis failing before the answer was stored) waits until it must
have landed (``LOST_ANSWER_FACTOR`` x the read timeout after it was sent), then asks
``membercard/userinfo/get`` and activates only if not.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

import redis

from bff.domain import once
from bff.domain.members.info import forget_member_info
from bff.domain.members.members import readable_fields, store_member
from bff.domain.members.numbers import membership_number_for
from bff.domain.ownership import Caller, name_code, owned_code, proof_keys, translate_code_error
from bff.domain.personal import PersonalDataError, seal, unseal
from bff.domain.profiles import get_profile
from bff.ground.errors import ServiceUnavailable, Unprocessable
from bff.ground.services import Services
from bff.ground.store import keys
from bff.ground.wechat.errors import ErrCode, WeChatApiError, WeChatUnavailable

if TYPE_CHECKING:
    from bff.ground.config import Settings
    from bff.ground.wechat.api import WeChatApi

CLAIM_SECONDS = 60  # longer than the two upstream calls with their retries
RESULT_SECONDS = 86400
LOST_ANSWER_FACTOR = 2.0  # x read timeout after sending: by then a lost activate has landed


def ticket_expired() -> Unprocessable:
    """72012: WeChat does not know the ticket (forged, expired, or of another account).
    Retrying the same ticket can never help: the user opens the activation plug-in again."""
    return Unprocessable(
        "The activation ticket is expired or not valid; open the activation plug-in again",
        errcode=int(ErrCode.ACTIVATE_TICKET_EXPIRED),
    )


def activate_member_card(svc: Services, caller: Caller, *, activate_ticket: str, card_id: str,
                         code: str | None = None,
                         encrypt_code: str | None = None) -> dict[str, Any]:
    """``{card_id, code, membership_number, fields}``; the same answer for every retry."""
    r, settings, wechat = svc.redis, svc.settings, svc.wechat
    named = name_code(r, wechat, code=code, encrypt_code=encrypt_code)
    # Linked (when the ownership rests on a new link) only if the activation succeeds.
    with owned_code(r, wechat, caller, named, card_id=card_id,
                    proof_keys=proof_keys(settings)) as facts:
        return _activate_once(r, settings, wechat, caller, activate_ticket=activate_ticket,
                              card_id=card_id, real_code=named.code, oa_openid=facts.oa_openid)


def _activate_once(r: redis.Redis, settings: Settings, wechat: WeChatApi, caller: Caller, *,
                   activate_ticket: str, card_id: str, real_code: str,
                   oa_openid: str) -> dict[str, Any]:
    # One activation per (ticket, code), not per ticket: WeChat gives no link between an
    # activate_ticket and the user it was issued to, so a ticket someone else used first (a
    # leaked one) must not lock its owner out of their own activation. README: "What is bound
    # to what". One part (ticket and code joined by a newline): the digest of stored answers.
    digest = once.digest(f"{activate_ticket}\n{real_code}")
    result_key = keys.activation_result(digest)

    def stored() -> dict[str, Any] | None:
        blob = r.get(result_key)
        return _replay(settings, digest, blob, card_id=card_id, code=real_code) if blob else None

    def first() -> dict[str, Any]:
        answer = _activate(r, settings, wechat, caller, activate_ticket, digest,
                           card_id=card_id, code=real_code, oa_openid=oa_openid)
        r.set(result_key, seal(settings, answer, f"act:{digest}"), ex=RESULT_SECONDS)
        return answer

    return once.run(r, keys.activation_claim(digest), stored=stored, action=first,
                    claim_seconds=CLAIM_SECONDS, busy="this activation is still in progress")


def _replay(settings: Settings, digest: str, blob: str, *, card_id: str,
            code: str) -> dict[str, Any]:
    try:
        answer = unseal(settings, blob, f"act:{digest}")
    except PersonalDataError:
        raise ServiceUnavailable("The stored activation cannot be read", retry_after=5) from None
    if answer.get("card_id") != card_id or answer.get("code") != code:
        raise once.key_reused("open the activation plug-in again",
                              key="this activation ticket")
    return answer


def _activate(r: redis.Redis, settings: Settings, wechat: WeChatApi, caller: Caller,
              activate_ticket: str, digest: str, *, card_id: str, code: str,
              oa_openid: str | None) -> dict[str, Any]:
    try:
        temp = wechat.membercard_activatetempinfo_get(activate_ticket)
    except WeChatApiError as e:
        if e.errcode == ErrCode.ACTIVATE_TICKET_EXPIRED:
            raise ticket_expired() from e
        raise
    fields = readable_fields(temp.get("info"))
    profile = get_profile(r, card_id)
    number = membership_number_for(r, profile, card_id=card_id, code=code)
    body: dict[str, Any] = {"membership_number": number, "code": code, "card_id": card_id}
    for name in ("init_bonus", "init_bonus_record", "init_balance", "background_pic_url"):
        value = getattr(profile, name, None)
        if value not in (None, "", 0):
            body[name] = value
    if not _earlier_activate_landed(r, settings, wechat, digest, card_id=card_id, code=code):
        # Written ahead: if the answer, or anything stored after it, is lost (a timeout, Redis
        # failing over), the next attempt asks WeChat instead of activating a second time.
        sent = keys.activation_sent(digest)
        r.set(sent, repr(time.time()), ex=RESULT_SECONDS)
        try:
            wechat.membercard_activate(body)
        except WeChatUnavailable as e:
            if not e.request_sent:
                r.delete(sent)
            raise
        except WeChatApiError as e:  # a definite refusal: nothing happened upstream
            r.delete(sent)
            if e.errcode == ErrCode.ACTIVATE_TICKET_EXPIRED:
                raise ticket_expired() from e
            raise translate_code_error(e) from e
        finally:  # the activation has reached WeChat, or may have
            forget_member_info(r, card_id, code)
    store_member(r, settings, card_id=card_id, code=code, oa_openid=oa_openid,
                 mp_openid=caller.mp_openid, membership_number=number, fields=fields,
                 source="activation")
    return {"card_id": card_id, "code": code, "membership_number": number, "fields": fields}


def _earlier_activate_landed(r: redis.Redis, settings: Settings, wechat: WeChatApi,
                            digest: str, *, card_id: str, code: str) -> bool:
    """Did an earlier attempt's activate of this ticket (sent, outcome unknown) take effect?"""
    raw = r.get(keys.activation_sent(digest))
    if raw is None:
        return False
    wait = float(raw) + LOST_ANSWER_FACTOR * settings.read_timeout - time.time()
    if wait > 0:  # it may still be on its way: asking now could miss it
        raise once.answer_lost(retry_after=max(1, math.ceil(wait)))
    info = wechat.membercard_userinfo_get(card_id, code)
    return bool(info.get("has_active"))
