"""What each recorded card event does: one function per event, named for it, in ``HANDLERS``.
Every handler is idempotent.

A handler may run twice for one entry (a worker dies after handling, before XACK): holdings
and links are merges, statuses never go back from a final state, and channel counters are
applied once per stream entry (``bff.events.stats.count_once``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import redis

from bff import holdings
from bff.broadcasts import record_job_finish
from bff.catalogue import record_stock_alert
from bff.events import stats
from bff.events.parse import as_int
from bff.extensions import Services
from bff.identity import IdentityConflict, link_openids
from bff.membership.change_events import reconcile
from bff.membership.members import readable_fields, store_member
from bff.ownership import is_final, unionid_of
from bff.pool import mark_pool_code_received
from bff.profiles import set_review_state
from bff.redemption import record_from_event

log = logging.getLogger(__name__)

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
    if is_final(current.status) and not is_final(status):
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
    """Link the user's unionid (``bff.ownership.unionid_of``: links, else user/info, cached a
    day) when there is one; busy/quota/token errors propagate so the worker retries."""
    unionid = unionid_of(svc.redis, svc.wechat, oa_openid, transient_raises=True)
    if unionid:
        _link_unionid(svc, oa_openid, unionid, "user_info")


def record_receipt(r: redis.Redis, ev: dict[str, str]) -> holdings.Holding | None:
    """The holding a ``user_get_card`` push reports, marked as WeChat's word on how the code
    was received (``receipt``: "push", or "gift" from a friend). Run at receipt of the push
    (so a decrypt right after wx.addCard finds it) and again by the worker; idempotent."""
    code, openid = ev.get("UserCardCode", ""), ev.get("FromUserName", "")
    if not code:
        return None
    gift = ev.get("IsGiveByFriend") == "1"
    existing = holdings.get_holding(r, code)
    keep = existing is not None and existing.oa_openid == openid and is_final(existing.status)
    return holdings.record_holding(r, holdings.Holding(
        card_id=ev.get("CardId", ""), code=code, oa_openid=openid,
        status="" if keep else "NORMAL", outer_str=ev.get("OuterStr", ""),
        received_at=_create_time(ev), receipt="gift" if gift else "push",
        gift_from=ev.get("FriendUserName", "") if gift else "",
        old_code=ev.get("OldUserCardCode", "") if gift else ""), existing=existing)


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
        record_receipt(r, ev)
        mark_pool_code_received(r, card_id, code)
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


def _end_holding(svc: Services, entry_id: str, ev: dict[str, str], status: str,
                 metric: str) -> None:
    """Move the event's code to the final ``status`` and count it once under ``metric``."""
    code = ev.get("UserCardCode", "")
    if not code:
        return
    _set_status(svc, ev, code, status, owner=ev.get("FromUserName", ""))
    stats.count_once(svc, entry_id, ev.get("CardId", ""), _create_time(ev),
                     _outer_str_of(svc, code, ev), metric)


def user_del_card(svc: Services, entry_id: str, ev: dict[str, str]) -> None:
    """The user deleted the card: the holding is DELETE (final) and counted."""
    _end_holding(svc, entry_id, ev, "DELETE", "deleted")


def user_consume_card(svc: Services, entry_id: str, ev: dict[str, str]) -> None:
    """The holding is CONSUMED and counted; a redemption made outside the service enters the
    redemption ledger, so a later attempt is told when, where and how it was redeemed."""
    _end_holding(svc, entry_id, ev, "CONSUMED", "consumed")
    record_from_event(svc.redis, card_id=ev.get("CardId", ""), code=ev.get("UserCardCode", ""),
                      openid=ev.get("FromUserName", ""), at=_create_time(ev),
                      location=ev.get("LocationName", ""), staff=ev.get("StaffOpenId", ""),
                      consume_source=ev.get("ConsumeSource", ""))


def submit_membercard_user_info(svc: Services, entry_id: str, ev: dict[str, str]) -> None:
    """Fetch the member's form (userinfo/get) and store it sealed, like the activation does."""
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


def _signed(value: str | None) -> int:
    """ModifyBonus / ModifyBalance: an optional minus sign, then 1-11 ASCII digits; else 0."""
    value = (value or "").strip()
    number = as_int(value[1:] if value.startswith("-") else value)
    return 0 if number is None else (-number if value.startswith("-") else number)


def update_member_card(svc: Services, entry_id: str, ev: dict[str, str]) -> None:
    """Reconcile with the member's change ledger; a change made elsewhere is recorded as such."""
    card_id, code = ev.get("CardId", ""), ev.get("UserCardCode", "")
    if not card_id or not code:
        return
    reconcile(svc.redis, card_id=card_id, code=code, event_id=entry_id,
              create_time=_create_time(ev), modify_bonus=_signed(ev.get("ModifyBonus")),
              modify_balance=_signed(ev.get("ModifyBalance")), wechat=svc.wechat)


def card_pass_check(svc: Services, entry_id: str, ev: dict[str, str]) -> None:
    """WeChat approved the card: its profile's review state is ``approved``."""
    if ev.get("CardId"):
        set_review_state(svc.redis, ev["CardId"], "approved", None)


def card_not_pass_check(svc: Services, entry_id: str, ev: dict[str, str]) -> None:
    """WeChat rejected the card: its profile's review state is ``rejected``, with the reason."""
    if ev.get("CardId"):
        set_review_state(svc.redis, ev["CardId"], "rejected", ev.get("RefuseReason") or None)


def card_sku_remind(svc: Services, entry_id: str, ev: dict[str, str]) -> None:
    """WeChat warns that a card's stock is running low: shown on the card for operators."""
    if ev.get("CardId"):
        record_stock_alert(svc.redis, ev["CardId"], ev.get("Detail", ""), _create_time(ev))


def mass_send_job_finish(svc: Services, entry_id: str, ev: dict[str, str]) -> None:
    """A broadcast's job ended: its Status and counts, recorded against its MsgID."""
    record_job_finish(svc.redis, ev, _create_time(ev))


HANDLERS: dict[str, Handler] = {
    "user_get_card": user_get_card,
    "user_gifting_card": user_gifting_card,
    "user_del_card": user_del_card,
    "user_consume_card": user_consume_card,
    "submit_membercard_user_info": submit_membercard_user_info,
    "update_member_card": update_member_card,
    "card_pass_check": card_pass_check,
    "card_not_pass_check": card_not_pass_check,
    "card_sku_remind": card_sku_remind,
    "MASSSENDJOBFINISH": mass_send_job_finish,
}


def apply_card_event(svc: Services, entry_id: str, ev: dict[str, str]) -> bool:
    """Run the handler of the event named by ``ev["Event"]``; False when it only needs
    recording (other and unknown events)."""
    handler = HANDLERS.get(ev.get("Event", ""))
    if handler is None:
        return False
    handler(svc, entry_id, ev)
    return True
