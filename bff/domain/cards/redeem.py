"""Self-redemption by the card's holder, where the card's profile allows it.

The consume itself is the one redemption of ``bff.domain.redemption`` (``redeem_once``, channel
``self``): one claim per code shared with counter redemption, ``check_consume`` query
first, one upstream consume however many requests arrive; a retry with the same
``Idempotency-Key`` gets the first answer, any other attempt a 409.
"""

from __future__ import annotations

from bff.domain.ownership import CodeFacts, check_owner, code_facts, name_code, proof_keys, settling
from bff.domain.profiles import get_profile
from bff.domain.redemption import lookup, redeem_once
from bff.domain.sessions.user import SessionUser
from bff.ground.errors import Forbidden
from bff.ground.services import Services


def redeem_own_code(svc: Services, user: SessionUser, *, card_id: str, code: str | None = None,
                    encrypt_code: str | None = None, idempotency_key: str | None = None) -> dict:
    """Redeem the caller's code once; a retry with the same key gets the first answer, any other
    attempt on a redeemed code a 409 saying when and through which channel."""
    r, settings, wechat = svc.redis, svc.settings, svc.wechat
    if not get_profile(r, card_id).self_redeem:
        raise Forbidden("this card cannot be redeemed by its holder; show it at the counter")
    named = name_code(r, wechat, code=code, encrypt_code=encrypt_code)
    code = named.code
    done = lookup(r, code, card_id)
    if done is not None:  # already redeemed: its owner is the one the ledger recorded
        facts = CodeFacts(card_id=done["card_id"], code=code,
                          oa_openid=done.get("openid") or "", status="CONSUMED",
                          can_consume=False)
    else:
        facts = code_facts(r, wechat, code, card_id)
    claim = check_owner(r, wechat, user, facts, proof_keys=proof_keys(settings),
                        encrypted=named.encrypted)
    with settling(r, user, claim, record=False):  # linked only once the redemption stands
        entry = redeem_once(r, wechat, card_id=card_id, code=code, channel="self",
                            idempotency_key=idempotency_key, key_scope=facts.oa_openid,
                            show_staff=False)
    return {"card_id": entry["card_id"], "code": code, "user_card_status": "CONSUMED",
            "redeemed_at": entry["redeemed_at"]}
