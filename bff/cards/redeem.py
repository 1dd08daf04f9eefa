"""Self-redemption by the card's holder, where the card's profile allows it.

The consume itself goes through the operators' ledger (``bff.admin.ledger.redeem_once``,
channel ``self``): one claim per code shared with counter redemption, ``check_consume`` query
first, one upstream consume however many requests arrive, and every repeat gets the first answer.
"""

from __future__ import annotations

import redis

from bff.errors import Forbidden
from bff.holdings import get_holding, set_status
from bff.profiles import get_profile
from bff.sessions.auth import SessionUser
from bff.wechat.api import WeChatApi

from .codes import code_facts, decrypt_code, ensure_owner


def redeem_own_code(
    r: redis.Redis, wechat: WeChatApi, user: SessionUser, *, card_id: str,
    code: str | None = None, encrypt_code: str | None = None,
) -> dict:
    from bff.admin.ledger import lookup, redeem_once

    if not get_profile(r, card_id).self_redeem:
        raise Forbidden("this card cannot be redeemed by its holder; show it at the counter")
    if encrypt_code:
        code = decrypt_code(wechat, encrypt_code)
    assert code
    done = lookup(r, code, card_id)
    if done is not None:
        facts = {"card_id": done["card_id"], "oa_openid": done.get("openid") or ""}
    else:
        facts = code_facts(r, wechat, code, card_id)
    ensure_owner(r, wechat, user, code_oa=facts["oa_openid"], card_id=card_id)
    entry = redeem_once(r, wechat, card_id=card_id, code=code, channel="self")
    if get_holding(r, code) is not None:
        set_status(r, code, "CONSUMED")
    return {"card_id": entry["card_id"], "code": code, "user_card_status": "CONSUMED",
            "redeemed_at": entry["redeemed_at"]}
