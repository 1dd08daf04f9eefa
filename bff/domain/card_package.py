"""A user's card package as WeChat sees it (``card/user/getcardlist``, OA openid), reconciled
into the holdings index: codes WeChat lists but the index lacks (a missed push, a card taken
before the service ran) are recorded; codes the index holds as NORMAL that WeChat no longer
lists are reported, not guessed at (used, deleted or expired outside the service's view).

Used by operators (``GET /v1/admin/users/{oa_openid}/cards``) and when a user's holding is
missing (``refresh_when_missing``, at most once a minute per user and card).
"""

from __future__ import annotations

from typing import Any

import redis

from bff.domain.holdings import Holding, get_holding, holdings_of, record_holding
from bff.ground.store import keys
from bff.ground.wechat.api import WeChatApi
from bff.ground.wechat.errors import WeChatError

RECHECK_SECONDS = 60


def reconcile_user_cards(r: redis.Redis, wechat: WeChatApi, oa_openid: str,
                         card_id: str | None = None) -> dict[str, Any]:
    """``{cards: [{card_id, code}], recorded, not_in_wechat}``; WeChat errors propagate."""
    answer = wechat.user_card_list(oa_openid, card_id=card_id)
    cards = [{"card_id": str(c.get("card_id") or ""), "code": str(c.get("code") or "")}
             for c in answer.get("card_list") or [] if c.get("code") and c.get("card_id")]
    recorded = 0
    for card in cards:
        held = get_holding(r, card["code"])
        if held is None or held.oa_openid != oa_openid or held.card_id != card["card_id"]:
            record_holding(r, Holding(card_id=card["card_id"], code=card["code"],
                                      oa_openid=oa_openid, status="NORMAL"))
            recorded += 1
    listed = {c["code"] for c in cards}
    missing = [h.code for h in holdings_of(r, oa_openid=oa_openid)
               if h.status == "NORMAL" and h.code not in listed
               and (not card_id or h.card_id == card_id)]
    return {"cards": cards, "recorded": recorded, "not_in_wechat": missing}


def refresh_when_missing(r: redis.Redis, wechat: WeChatApi, oa_openid: str | None,
                         card_id: str | None = None) -> bool:
    """Ask WeChat for the user's cards once a minute at most; True when holdings were added."""
    if not oa_openid:
        return False
    marker = keys.card_package_checked(oa_openid, card_id or "*")
    if not r.set(marker, "1", nx=True, ex=RECHECK_SECONDS):
        return False
    try:
        return reconcile_user_cards(r, wechat, oa_openid, card_id)["recorded"] > 0
    except WeChatError:
        return False  # a convenience, not the answer: the caller answers from what it has
