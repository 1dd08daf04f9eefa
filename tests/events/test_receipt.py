"""The receipt's holding, merged by one Lua script (``bff.domain.events.receipt``), against the
rules it replaced: ``record_receipt`` in Python, a read of the holding then
``holdings.record_holding``. Every stored state a receipt can meet, for a plain receipt and a
gift, by the same owner and by another one: the same hash and the same indexes."""

from __future__ import annotations

import itertools
from unittest import mock

import pytest

from bff.domain import holdings
from bff.domain.events.parse import CardEvent
from bff.domain.events.receipt import record_receipt
from bff.domain.ownership import is_final
from bff.ground.store import keys


def python_record_receipt(r, ev: CardEvent, now: int) -> None:
    """The former ``record_receipt``: a read of the holding, then ``holdings.record_holding``
    itself (the live rule, at the clock ``now``), so the script is held to what the Python
    merge does today, not to a copy of it."""
    if not ev.code:
        return
    gift = ev.is_give_by_friend
    # the order rule: not a receipt older than the last applied, nor one of the same second
    # that moves the code to another owner, unless a gift from the holder
    at = ev.create_time or now
    stored = r.hgetall(keys.holding(ev.code))
    try:
        last = int(stored.get("receipt_time") or 0)
    except ValueError:
        last = 0
    holder = stored.get("oa_openid", "")
    if at < last or (at == last and holder != ev.openid
                     and not (gift and ev.friend_openid and ev.friend_openid == holder)):
        # nothing written; the owner index's SADD goes out with the script all the same (the
        # index is a hint: holdings.holdings_of re-checks each holding's owner)
        if ev.openid:
            r.sadd(keys.holdings_of("oa", ev.openid), ev.code)
        return
    existing = holdings.get_holding(r, ev.code)
    keep = existing is not None and existing.oa_openid == ev.openid and is_final(existing.status)
    with mock.patch.object(holdings.time, "time", return_value=now):
        holdings.record_holding(r, holdings.Holding(
            card_id=ev.card_id, code=ev.code, oa_openid=ev.openid,
            status="" if keep else "NORMAL", outer_str=ev.outer_str,
            received_at=ev.create_time, receipt="gift" if gift else "push",
            gift_from=ev.friend_openid if gift else "",
            old_code=ev.old_code if gift else "",
            receiver_unionid=f"{ev.openid} {ev.unionid}" if ev.openid and ev.unionid else ""))
    r.hset(keys.holding(ev.code), "receipt_time", str(at))


STORED = [
    None,
    {"card_id": "pA", "code": "C1"},  # a hash with no owner, status or received_at
    {"card_id": "pA", "code": "C1", "oa_openid": "oA", "status": "NORMAL", "received_at": "100",
     "mp_openid": "mA", "outer_str": "old"},
    {"card_id": "pA", "code": "C1", "oa_openid": "oA", "status": "CONSUMED", "received_at": "0"},
    {"card_id": "pA", "code": "C1", "oa_openid": "oA", "status": "DELETE", "received_at": "100"},
    {"card_id": "pA", "code": "C1", "oa_openid": "oA", "status": "GIFTED"},
    {"card_id": "pA", "code": "C1", "oa_openid": "oB", "status": "GIFTED", "received_at": "90"},
    {"card_id": "pA", "code": "C1", "oa_openid": "oB", "status": "NORMAL", "received_at": "90"},
    # the order rule: the time of the last receipt applied
    {"card_id": "pA", "code": "C1", "oa_openid": "oA", "status": "NORMAL", "receipt_time": "300"},
    {"card_id": "pA", "code": "C1", "oa_openid": "oB", "status": "NORMAL", "receipt_time": "300"},
    {"card_id": "pA", "code": "C1", "oa_openid": "oA", "status": "NORMAL", "receipt_time": "200"},
    {"card_id": "pA", "code": "C1", "oa_openid": "oB", "status": "NORMAL", "receipt_time": "200"},
    {"card_id": "pA", "code": "C1", "oa_openid": "oB", "status": "NORMAL", "receipt_time": "100"},
    {"card_id": "pA", "code": "C1", "oa_openid": "oB", "status": "NORMAL", "receipt_time": "x"},
    {"card_id": "pA", "code": "C1", "receipt_time": "1234"},
    {"card_id": "pA", "code": "C1", "oa_openid": "oB", "status": "NORMAL",
     "receiver_unionid": "oB uB"},
]
EVENTS = [
    {"FromUserName": "oA", "CreateTime": "200", "CardId": "pA", "UserCardCode": "C1",
     "IsGiveByFriend": "0", "OuterStr": "chan"},
    {"FromUserName": "oA", "CreateTime": "200", "CardId": "pA", "UserCardCode": "C1",
     "IsGiveByFriend": "0", "UnionId": "uA"},
    {"FromUserName": "oA", "CreateTime": "", "CardId": "pA", "UserCardCode": "C1"},
    {"FromUserName": "oA", "CreateTime": "200", "CardId": "", "UserCardCode": "C1",
     "IsGiveByFriend": "1", "FriendUserName": "oB", "OldUserCardCode": "C0"},
    {"FromUserName": "", "CreateTime": "200", "CardId": "pA", "UserCardCode": "C1"},
    {"FromUserName": "oA", "CreateTime": "200", "CardId": "pA", "UserCardCode": ""},
]


def _state(r) -> tuple:
    return (r.hgetall(keys.holding("C1")),
            {who: r.smembers(keys.holdings_of("oa", who)) for who in ("oA", "oB")})


@pytest.mark.parametrize(("stored", "fields"), list(itertools.product(STORED, EVENTS)))
def test_the_script_merges_as_the_python_rules_did(redis_client, stored, fields, monkeypatch):
    import bff.domain.events.receipt as receipt

    ev = CardEvent.parse({"Event": "user_get_card", **fields})
    results = []
    for record in (lambda: python_record_receipt(redis_client, ev, 1234),
                   lambda: record_receipt(redis_client, ev)):
        redis_client.flushdb()
        if stored:
            redis_client.hset(keys.holding("C1"), mapping=stored)
            if stored.get("oa_openid"):
                redis_client.sadd(keys.holdings_of("oa", stored["oa_openid"]), "C1")
        monkeypatch.setattr(receipt.time, "time", lambda: 1234.5)
        record()
        results.append(_state(redis_client))
    assert results[0] == results[1]


def test_a_flushed_script_cache_is_reloaded(redis_client):
    redis_client.script_flush()
    ev = CardEvent.parse({"Event": "user_get_card", "FromUserName": "oA", "CreateTime": "5",
                          "CardId": "pA", "UserCardCode": "C1"})
    record_receipt(redis_client, ev)
    assert redis_client.hgetall(keys.holding("C1"))["receipt"] == "push"
    assert redis_client.smembers(keys.holdings_of("oa", "oA")) == {"C1"}
