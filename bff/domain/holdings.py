"""Who holds which card code: written by decrypt (Mini Program) and by card events (WeChat push).

A holding is keyed by the code (unique within the Official Account). Indexes by OA openid and
by Mini Program openid list a user's codes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

import redis

from bff.ground.store import coalesce, keys

STATUSES = ("NORMAL", "CONSUMED", "EXPIRE", "GIFTING", "GIFT_TIMEOUT", "GIFTED", "DELETE",
            "UNAVAILABLE")


@dataclass
class Holding:
    card_id: str
    code: str
    oa_openid: str = ""
    mp_openid: str = ""
    status: str = "NORMAL"
    outer_str: str = ""
    received_at: int = 0
    gift_from: str = ""  # the giver's OA openid when received from a friend
    old_code: str = ""  # the giver's code when received from a friend
    # How WeChat said the code was received: "push" (user_get_card, not a gift), "gift"
    # (user_get_card from a friend), "" (not confirmed by a push: decrypt, /card/code/get).
    receipt: str = ""
    # "<oa_openid> <unionid>": the receiver's unionid as WeChat's receipt push (user_get_card,
    # UnionId) gave it, with the receiver it is of (``holder_unionid`` reads it).
    receiver_unionid: str = ""
    updated_at: int = 0

    def as_dict(self) -> dict:
        # the fields are all str or int: a shallow copy is what ``dataclasses.asdict`` gives,
        # without its recursive deep copy (2 % of a first decrypt's time in process)
        return dict(self.__dict__)


_INT_FIELDS = {"received_at", "updated_at"}
_NAMES = {f.name for f in fields(Holding)}


def _from_hash(h: dict[str, str]) -> Holding:
    values = {k: (int(v) if k in _INT_FIELDS else v) for k, v in h.items() if k in _NAMES}
    return Holding(**values)


def holder_unionid(h: Holding) -> str:
    """The holder's unionid as a receipt push named it, when that push's receiver is still the
    holder; "" when not known so (the code changed hands since, or no push carried one)."""
    oa, _, unionid = h.receiver_unionid.partition(" ")
    return unionid if oa and oa == h.oa_openid else ""


def get_holding(r: redis.Redis, code: str) -> Holding | None:
    [h] = coalesce.send(r, lambda pipe: [pipe.hgetall(keys.holding(code))])
    return _from_hash(h) if h else None


_UNREAD: Any = object()


def record_holding(r: redis.Redis, holding: Holding, *, stored: Holding | None = _UNREAD
                   ) -> Holding:
    """Create or update the holding of ``holding.code``; empty fields never erase stored ones.
    (A push's receipt merges by the same rules in one script: bff.domain.events.receipt;
    tests/events/test_receipt.py holds the two together.) ``stored``: the holding as the
    caller has just read it (``get_holding``), instead of reading it again."""
    write, written = holding_write(r, holding, stored=stored)
    coalesce.send(r, write)
    return written


def holding_write(r: redis.Redis, holding: Holding, *, stored: Holding | None = _UNREAD
                  ) -> tuple[Callable[[Any], None], Holding]:
    """``record_holding``'s write, to queue on a coalesced pipeline with a caller's other
    commands, and the holding it leaves (what the HSET leaves in the hash: the stored fields
    overlaid with ours, no second read)."""
    now = int(time.time())
    holding.updated_at = now
    if not holding.received_at:
        holding.received_at = now
    existing = get_holding(r, holding.code) if stored is _UNREAD else stored
    values = {k: v for k, v in holding.as_dict().items() if v not in ("", None)}
    if existing and existing.received_at and existing.oa_openid == holding.oa_openid:
        values.pop("received_at", None)  # keep the first time it was received
    # Not MULTI: the holding and the per-openid indexes are in different hash slots (CROSSSLOT on
    # a cluster). The indexes are derived: holdings_of re-checks each holding's owner. Sent with
    # concurrent requests' commands (coalesce): each of these bears being sent twice.

    def write(pipe: Any) -> None:
        pipe.hset(keys.holding(holding.code), mapping=values)
        if existing and existing.oa_openid and existing.oa_openid != holding.oa_openid \
                and holding.oa_openid:
            pipe.srem(keys.holdings_of("oa", existing.oa_openid), holding.code)
        if holding.oa_openid:
            pipe.sadd(keys.holdings_of("oa", holding.oa_openid), holding.code)
        if holding.mp_openid:
            pipe.sadd(keys.holdings_of("mp", holding.mp_openid), holding.code)

    return write, Holding(**{"card_id": holding.card_id, "code": holding.code,
                             **(existing.as_dict() if existing else {}), **values})


def set_status(r: redis.Redis, code: str, status: str) -> None:
    if status not in STATUSES:
        raise ValueError(f"unknown status {status!r}")
    r.hset(keys.holding(code), mapping={"status": status, "updated_at": int(time.time())})


def holdings_of(r: redis.Redis, *, oa_openid: str | None = None,
                mp_openid: str | None = None) -> list[Holding]:
    """Every holding listed under either openid, newest first.

    Both reads go out with those of concurrent requests (``bff.ground.store.coalesce``): the
    list of "my cards" is two round trips, which under load cost more CPU than the rest of the
    request."""
    indexes = [keys.holdings_of(kind, openid)
               for kind, openid in (("oa", oa_openid), ("mp", mp_openid)) if openid]
    if not indexes:
        return []
    codes: set[str] = set().union(*coalesce.send(
        r, lambda pipe: [pipe.smembers(index) for index in indexes]))
    if not codes:
        return []
    found = [_from_hash(h) for h in coalesce.send(
        r, lambda pipe: [pipe.hgetall(keys.holding(code)) for code in codes]) if h]
    mine = [h for h in found
            if (oa_openid and h.oa_openid == oa_openid) or (mp_openid and h.mp_openid == mp_openid)]
    return sorted(mine, key=lambda h: h.received_at, reverse=True)


def rename_code(r: redis.Redis, old: str, new: str) -> Holding | None:
    """The holding of ``old`` moves to ``new`` (card/code/update); None when none was recorded."""
    held = get_holding(r, old)
    if held is None:
        return None
    moved = record_holding(r, Holding(**{**held.as_dict(), "code": new, "old_code": old}))
    pipe = r.pipeline(transaction=False)
    pipe.delete(keys.holding(old))
    if held.oa_openid:
        pipe.srem(keys.holdings_of("oa", held.oa_openid), old)
    if held.mp_openid:
        pipe.srem(keys.holdings_of("mp", held.mp_openid), old)
    pipe.execute()
    return moved
