"""What each recorded card event does: one function per event, named for it, in ``HANDLERS``.
Every handler is idempotent.

A handler may run twice for one entry (a worker dies after handling, before XACK): holdings
and links are merges, statuses never go back from a final state, and channel counters are
applied once per stream entry (``bff.domain.channel_stats.count_once``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from bff.domain import channel_stats as stats
from bff.domain import holdings
from bff.domain.broadcasts import record_job_finish
from bff.domain.catalogue import record_stock_alert
from bff.domain.events.parse import CardEvent
from bff.domain.events.receipt import record_receipt
from bff.domain.identity import IdentityConflict, link_openids
from bff.domain.members.change_events import reconcile
from bff.domain.members.info import forget_member_info
from bff.domain.members.members import readable_fields, store_member
from bff.domain.ownership import is_final, unionid_of
from bff.domain.pool import mark_pool_code_received
from bff.domain.profiles import set_review_state
from bff.domain.redemption import record_from_event
from bff.ground.services import Services

log = logging.getLogger(__name__)

Handler = Callable[[Services, str, CardEvent], None]


def _set_status(svc: Services, ev: CardEvent, code: str, status: str,
                owner: str = "") -> holdings.Holding | None:
    """Move ``code`` to ``status`` unless it is already final (a replay never undoes it)."""
    r = svc.redis
    current = holdings.get_holding(r, code)
    if current is None:
        return holdings.record_holding(r, holdings.Holding(
            card_id=ev.card_id, code=code, oa_openid=owner, status=status,
            received_at=ev.create_time))
    if is_final(current.status) and not is_final(status):
        return current
    holdings.set_status(r, code, status)
    return current


def _outer_str_of(svc: Services, code: str, fallback: str = "") -> str:
    """The channel ``code`` was taken from (its holding's), else ``fallback``."""
    holding = holdings.get_holding(svc.redis, code) if code else None
    return (holding.outer_str if holding else "") or fallback


def _link_unionid(svc: Services, oa_openid: str, unionid: str, source: str) -> None:
    try:
        link_openids(svc.redis, source=source, unionid=unionid, oa_openid=oa_openid)
    except IdentityConflict:
        pass  # refused, logged and counted by bff.domain.identity; the event itself is fine


def lazy_unionid(svc: Services, oa_openid: str) -> None:
    """Link the user's unionid (``bff.domain.ownership.unionid_of``: links, else user/info, cached a
    day) when there is one; busy/quota/token errors propagate so the worker retries."""
    unionid = unionid_of(svc.redis, svc.wechat, oa_openid, transient_raises=True)
    if unionid:
        _link_unionid(svc, oa_openid, unionid, "user_info")


def user_get_card(svc: Services, entry_id: str, ev: CardEvent) -> None:
    outer = ev.outer_str
    if ev.is_give_by_friend and ev.old_code:
        outer = outer or _outer_str_of(svc, ev.old_code)
        _set_status(svc, ev, ev.old_code, "GIFTED", owner=ev.friend_openid)
    if ev.code:
        record_receipt(svc.redis, ev)
        mark_pool_code_received(svc.redis, ev.card_id, ev.code)
    if not ev.is_give_by_friend:
        stats.count_once(svc, entry_id, ev.card_id, ev.create_time, outer, "received")
    if ev.openid:
        if ev.unionid:
            _link_unionid(svc, ev.openid, ev.unionid, "event_unionid")
        else:
            lazy_unionid(svc, ev.openid)


def user_gifting_card(svc: Services, entry_id: str, ev: CardEvent) -> None:
    if not ev.code:
        return
    _set_status(svc, ev, ev.code, "NORMAL" if ev.is_return_back else "GIFTING", owner=ev.openid)
    if not ev.is_return_back:
        stats.count_once(svc, entry_id, ev.card_id, ev.create_time,
                         _outer_str_of(svc, ev.code), "gifted")


def _end_holding(svc: Services, entry_id: str, ev: CardEvent, status: str, metric: str) -> None:
    """Move the event's code to the final ``status`` and count it once under ``metric``."""
    if not ev.code:
        return
    _set_status(svc, ev, ev.code, status, owner=ev.openid)
    stats.count_once(svc, entry_id, ev.card_id, ev.create_time,
                     _outer_str_of(svc, ev.code, ev.outer_str), metric)


def user_del_card(svc: Services, entry_id: str, ev: CardEvent) -> None:
    """The user deleted the card: the holding is DELETE (final) and counted."""
    _end_holding(svc, entry_id, ev, "DELETE", "deleted")


def user_consume_card(svc: Services, entry_id: str, ev: CardEvent) -> None:
    """The holding is CONSUMED and counted; a redemption made outside the service enters the
    redemption ledger, so a later attempt is told when, where and how it was redeemed."""
    _end_holding(svc, entry_id, ev, "CONSUMED", "consumed")
    record_from_event(svc.redis, card_id=ev.card_id, code=ev.code, openid=ev.openid,
                      at=ev.create_time, location=ev.location_name, staff=ev.staff_openid,
                      consume_source=ev.consume_source)


def submit_membercard_user_info(svc: Services, entry_id: str, ev: CardEvent) -> None:
    """Fetch the member's form (userinfo/get) and store it sealed, like the activation does."""
    if not ev.card_id or not ev.code:
        return
    info: dict[str, Any] = svc.wechat.membercard_userinfo_get(ev.card_id, ev.code)
    store_member(
        svc.redis, svc.settings, card_id=ev.card_id, code=ev.code,
        oa_openid=info.get("openid") or ev.openid or None,
        membership_number=info.get("membership_number") or None,
        fields=readable_fields(info.get("user_info")), source="event",
    )


def update_member_card(svc: Services, entry_id: str, ev: CardEvent) -> None:
    """Reconcile with the member's change ledger; a change made elsewhere is recorded as such."""
    if not ev.card_id or not ev.code:
        return
    reconcile(svc.redis, card_id=ev.card_id, code=ev.code, event_id=entry_id,
              create_time=ev.create_time, modify_bonus=ev.modify_bonus,
              modify_balance=ev.modify_balance, wechat=svc.wechat)


def card_pass_check(svc: Services, entry_id: str, ev: CardEvent) -> None:
    """WeChat approved the card: its profile's review state is ``approved``."""
    if ev.card_id:
        set_review_state(svc.redis, ev.card_id, "approved", None)


def card_not_pass_check(svc: Services, entry_id: str, ev: CardEvent) -> None:
    """WeChat rejected the card: its profile's review state is ``rejected``, with the reason."""
    if ev.card_id:
        set_review_state(svc.redis, ev.card_id, "rejected", ev.refuse_reason or None)


def card_sku_remind(svc: Services, entry_id: str, ev: CardEvent) -> None:
    """WeChat warns that a card's stock is running low: shown on the card for operators."""
    if ev.card_id:
        record_stock_alert(svc.redis, ev.card_id, ev.detail, ev.create_time)


def mass_send_job_finish(svc: Services, entry_id: str, ev: CardEvent) -> None:
    """A broadcast's job ended: its Status and counts, recorded against its MsgID."""
    record_job_finish(svc.redis, dict(ev.fields), ev.create_time)


# Events after which WeChat's member info of the code has changed (bonus, balance, the form, the
# card's status): the kept answer is forgotten (``bff.domain.members.info``).
CHANGES_MEMBER_INFO = frozenset({"update_member_card", "submit_membercard_user_info",
                                 "user_del_card", "user_consume_card", "user_gifting_card"})

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


def apply_card_event(svc: Services, entry_id: str, fields: dict[str, str]) -> bool:
    """Parse a recorded event's fields once and run the handler of its ``Event``; False when
    it only needs recording (other and unknown events)."""
    ev = CardEvent.parse(fields)
    handler = HANDLERS.get(ev.event)
    if handler is None:
        return False
    if ev.event in CHANGES_MEMBER_INFO and ev.card_id and ev.code:
        forget_member_info(svc.redis, ev.card_id, ev.code)
    handler(svc, entry_id, ev)
    return True
