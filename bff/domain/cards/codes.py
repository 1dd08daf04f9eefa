"""Codes for their owner: decrypt an encrypt_code, list the caller's cards.

Who owns a code, and how a code is found, is ``bff.domain.ownership``'s to say; this module shapes
the answers of the Mini Program / H5 endpoints.
"""

from __future__ import annotations

import redis

from bff.domain.ownership import holdings_of_caller, is_hidden, name_code, owned_code, proof_keys
from bff.domain.pool import mark_pool_code_received
from bff.domain.profiles import get_profile
from bff.domain.sessions.user import SessionUser
from bff.ground.services import Services


def decrypt_for_owner(svc: Services, user: SessionUser, encrypt_code: str,
                      card_id: str | None = None) -> dict:
    r, settings, wechat = svc.redis, svc.settings, svc.wechat
    user.read_ahead()  # the owner check wants the caller's OA openid: read with the code's
    named = name_code(r, wechat, encrypt_code=encrypt_code)
    code = named.code
    with owned_code(r, wechat, user, named, card_id=card_id,
                    proof_keys=proof_keys(settings)) as facts:
        if get_profile(r, facts.card_id).code_mode == "pool":
            mark_pool_code_received(r, facts.card_id, code)
    return {"card_id": facts.card_id, "code": code, "user_card_status": facts.status,
            "can_consume": facts.can_consume}


def my_cards(r: redis.Redis, user: SessionUser) -> list[dict]:
    return [{"card_id": h.card_id, "code": h.code, "user_card_status": h.status,
             "received_at": h.received_at}
            for h in holdings_of_caller(r, user) if not is_hidden(h.status)]
