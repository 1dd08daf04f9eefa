"""What each recorded card event does (issue 4 §3). Every handler is idempotent.

A handler may run twice for one entry (a worker dies after handling, before XACK): holdings
and links are merges, statuses never go back from a final state, and channel counters are
applied once per stream entry (``bff.events.stats.count_once``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from bff import holdings
from bff.events import stats
from bff.events.parse import as_int
from bff.extensions import Services
from bff.identity import IdentityConflict, find_identity, link_openids
from bff.store import keys
from bff.wechat.errors import Busy, QuotaExceeded, TokenInvalid, WeChatApiError

log = logging.getLogger(__name__)

FINAL = ("CONSUMED", "GIFTED", "DELETE")
USERINFO_CHECK_TTL = 86_400

Handler = Callable[[Services, str, dict[str, str]], None]


def _create_time(ev: dict[str, str]) -> int:
    return as_int(ev.get("CreateTime")) or 0


def _set_status(svc: Services, ev: dict[str, str], code: str, status: str,
                owner: str = "") -> holdings.Holding | None:
    """Move ``code`` to ``status`` unless it is already final (a replay never undoes it)."""
    r = svc.redis
    current = holdings.get_holding(r, code)
    if current is None:
        return holdings.record_holding(r, holdings.Holding(
            card_id=ev.get("CardId", ""), code=code, oa_openid=owner, status=status,
            received_at=_create_time(ev)))
    if current.status in FINAL and status not in FINAL:
        return current
    holdings.set_status(r, code, status)
    return current


def _outer_str_of(svc: Services, code: str, ev: dict[str, str]) -> str:
    holding = holdings.get_holding(svc.redis, code) if code else None
    return (holding.outer_str if holding else "") or ev.get("OuterStr", "")


def _link_unionid(svc: Services, oa_openid: str, unionid: str, source: str) -> None:
    try:
        link_openids(svc.redis, source=source, unionid=unionid, oa_openid=oa_openid)
    except IdentityConflict:
        pass  # refused, logged and counted by bff.identity; the event itself is fine


def lazy_unionid(svc: Services, oa_openid: str) -> None:
    """Look the user's unionid up (user/info) when the OA openid has no identity yet.

    Shares the 1-day cache of ``bff.cards.codes.unionid_of`` (``keys.userinfo_unionid``,
    "" = none), so the two areas never ask WeChat twice for one user.
    """
    r = svc.redis
    known = find_identity(r, oa_openid=oa_openid)
    if known and known.unionid:
        return
    unionid = r.get(keys.userinfo_unionid(oa_openid))
    if unionid is None:
        try:
            unionid = svc.wechat.user_info(oa_openid).get("unionid") or ""
        except (Busy, QuotaExceeded, TokenInvalid):
            raise  # transient: the worker retries the entry
        except WeChatApiError as e:
            log.info("user/info gave errcode %s; no unionid lookup for this user", e.errcode)
            unionid = ""
        r.set(keys.userinfo_unionid(oa_openid), unionid, ex=USERINFO_CHECK_TTL)
    if unionid:
        _link_unionid(svc, oa_openid, unionid, "user_info")


def user_get_card(svc: Services, entry_id: str, ev: dict[str, str]) -> None:
    r = svc.redis
    card_id, code, openid = ev.get("CardId", ""), ev.get("UserCardCode", ""), ev.get(
        "FromUserName", "")
    gift = ev.get("IsGiveByFriend") == "1"
    friend, old_code = ev.get("FriendUserName", ""), ev.get("OldUserCardCode", "")
    outer = ev.get("OuterStr", "")
    if gift and old_code:
        if not outer:
            outer = _outer_str_of(svc, old_code, {})
        _set_status(svc, ev, old_code, "GIFTED", owner=friend)
    if code:
        existing = holdings.get_holding(r, code)
        keep = existing is not None and existing.oa_openid == openid and existing.status in FINAL
        holdings.record_holding(r, holdings.Holding(
            card_id=card_id, code=code, oa_openid=openid, status="" if keep else "NORMAL",
            outer_str=outer, received_at=_create_time(ev),
            gift_from=friend if gift else "", old_code=old_code if gift else ""))
        from bff.profiles import claim_pool_code

        claim_pool_code(r, card_id, code)
    if not gift:
        stats.count_once(svc, entry_id, card_id, _create_time(ev), outer, "received")
    if openid:
        if ev.get("UnionId"):
            _link_unionid(svc, openid, ev["UnionId"], "event_unionid")
        else:
            lazy_unionid(svc, openid)


def user_gifting_card(svc: Services, entry_id: str, ev: dict[str, str]) -> None:
    code = ev.get("UserCardCode", "")
    if not code:
        return
    returned = ev.get("IsReturnBack") == "1"
    _set_status(svc, ev, code, "NORMAL" if returned else "GIFTING",
                owner=ev.get("FromUserName", ""))
    if not returned:
        stats.count_once(svc, entry_id, ev.get("CardId", ""), _create_time(ev),
                         _outer_str_of(svc, code, {}), "gifted")


def _final(status: str, metric: str) -> Handler:
    def handle(svc: Services, entry_id: str, ev: dict[str, str]) -> None:
        code = ev.get("UserCardCode", "")
        if not code:
            return
        _set_status(svc, ev, code, status, owner=ev.get("FromUserName", ""))
        stats.count_once(svc, entry_id, ev.get("CardId", ""), _create_time(ev),
                         _outer_str_of(svc, code, ev), metric)

    return handle


def submit_membercard_user_info(svc: Services, entry_id: str, ev: dict[str, str]) -> None:
    """Fetch the member's form (userinfo/get) and store it sealed, like the activation does."""
    from bff.membership.members import readable_fields, store_member

    card_id, code = ev.get("CardId", ""), ev.get("UserCardCode", "")
    if not card_id or not code:
        return
    info: dict[str, Any] = svc.wechat.membercard_userinfo_get(card_id, code)
    store_member(
        svc.redis, svc.settings, card_id=card_id, code=code,
        oa_openid=info.get("openid") or ev.get("FromUserName") or None,
        membership_number=info.get("membership_number") or None,
        fields=readable_fields(info.get("user_info")), source="event",
    )


def _review(state: str) -> Handler:
    def handle(svc: Services, entry_id: str, ev: dict[str, str]) -> None:
        from bff.profiles import set_review_state

        if ev.get("CardId"):
            set_review_state(svc.redis, ev["CardId"], state,
                             ev.get("RefuseReason") or None if state == "rejected" else None)

    return handle


def card_sku_remind(svc: Services, entry_id: str, ev: dict[str, str]) -> None:
    """WeChat warns that a card's stock is running low: shown on the card for operators."""
    from bff.catalogue import record_stock_alert

    if ev.get("CardId"):
        record_stock_alert(svc.redis, ev["CardId"], ev.get("Detail", ""), _create_time(ev))


HANDLERS: dict[str, Handler] = {
    "user_get_card": user_get_card,
    "user_gifting_card": user_gifting_card,
    "user_del_card": _final("DELETE", "deleted"),
    "user_consume_card": _final("CONSUMED", "consumed"),
    "submit_membercard_user_info": submit_membercard_user_info,
    "card_pass_check": _review("approved"),
    "card_not_pass_check": _review("rejected"),
    "card_sku_remind": card_sku_remind,
}


def handle(svc: Services, entry_id: str, ev: dict[str, str]) -> bool:
    """Apply the event; False when it only needs recording (others, unknown events)."""
    handler = HANDLERS.get(ev.get("Event", ""))
    if handler is None:
        return False
    handler(svc, entry_id, ev)
    return True
