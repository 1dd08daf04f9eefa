"""``update_member_card`` pushes reconciled with the member-change ledger.

An event is matched to the oldest API change still waiting for its event whose amounts fit
(``add_*`` equal to ModifyBonus / ModifyBalance; an absolute ``bonus``/``balance`` fits any
amount); a change whose answer was lost is thereby confirmed. An event that matches none was a
change made outside the service and is recorded with source ``wechat``, its before and after
derived from the ledger's latest results.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

import redis

from bff.domain.members.change_ledger import (
    KINDS,
    get_change,
    ledger,
    mark_key_done,
    member_lock,
    save,
)
from bff.ground.store import keys
from bff.ground.wechat.api import WeChatApi

UNMATCHED_MAX_AGE = 86400  # an API change waits this long for its update_member_card event


def reconcile(r: redis.Redis, *, card_id: str, code: str, event_id: str, create_time: int,
              modify_bonus: int, modify_balance: int,
              wechat: WeChatApi | None = None) -> dict[str, Any]:
    """Match an ``update_member_card`` event to the API change it reports, or record it as a
    change made outside the service (source ``wechat``). Idempotent per event.

    A change whose answer was lost gets its results from the ledger before it, else from
    ``userinfo/get`` (``wechat``), read under the member's lock."""
    with member_lock(r, card_id, code):
        seen = r.hget(keys.member_change_events(card_id, code), event_id)
        if seen:
            entry = get_change(r, card_id, code, seen)
            if entry is not None:
                return entry
        modify = {"bonus": modify_bonus, "balance": modify_balance}
        entry = _match(r, card_id, code, modify)
        if entry is None:
            entry = _outside_change(r, card_id, code, create_time, modify, event_id)
            save(r, entry, new=True)
        else:
            entry["event_id"] = event_id
            if entry["state"] != "done":  # its answer was lost: the push proves it was made
                _fill_from_previous(r, card_id, code, entry, modify)
                if wechat is not None and any(entry[f"result_{k}"] is None for k in KINDS):
                    now = wechat.membercard_userinfo_get(card_id, code)
                    for kind in KINDS:
                        if entry[f"result_{kind}"] is None:
                            entry[f"result_{kind}"] = int(now.get(kind) or 0)
                entry["state"] = "done"
                mark_key_done(r, entry)
            for kind in KINDS:
                if entry.get(f"before_{kind}") is None and entry.get(f"result_{kind}") is not None:
                    entry[f"before_{kind}"] = entry[f"result_{kind}"] - modify[kind]
            save(r, entry)
        r.hset(keys.member_change_events(card_id, code), event_id, entry["change_id"])
        return entry


def _fits(entry: dict[str, Any], modify: dict[str, int]) -> bool:
    for kind in KINDS:
        add, absolute = entry.get(f"add_{kind}"), entry.get(kind)
        if add is not None:
            if add != modify[kind]:
                return False
        elif absolute is None and modify[kind] != 0:
            return False
    return True


def _match(r: redis.Redis, card_id: str, code: str,
           modify: dict[str, int]) -> dict[str, Any] | None:
    waiting_key = keys.member_change_unmatched(card_id, code)
    oldest = time.time() - UNMATCHED_MAX_AGE
    for change_id in r.lrange(waiting_key, 0, -1):
        entry = get_change(r, card_id, code, change_id)
        if entry is None or entry["at"] < oldest:
            r.lrem(waiting_key, 0, change_id)  # gone, or too old to be this event's
            continue
        if _fits(entry, modify):
            r.lrem(waiting_key, 0, change_id)
            return entry
    return None


def _previous_results(r: redis.Redis, card_id: str, code: str, before: str | None = None,
                      until: float | None = None) -> dict[str, int | None]:
    """The results of the member's latest change that has them: before change ``before``, or
    made before second ``until`` ended (an event handled late must not count changes made
    after it; within one second the order is unknown, and the ledger's counts as earlier)."""
    found: dict[str, int | None] = {"bonus": None, "balance": None}
    entries = ledger(r, card_id, code)
    ids = [e["change_id"] for e in entries]
    if before in ids:
        entries = entries[:ids.index(before)]
    if until is not None:
        entries = [e for e in entries if e["at"] < until + 1]
    for entry in reversed(entries):
        for kind in KINDS:
            if found[kind] is None and entry.get(f"result_{kind}") is not None:
                found[kind] = entry[f"result_{kind}"]
        if all(v is not None for v in found.values()):
            break
    return found


def _fill_from_previous(r: redis.Redis, card_id: str, code: str, entry: dict[str, Any],
                        modify: dict[str, int]) -> None:
    previous = _previous_results(r, card_id, code, before=entry["change_id"])
    for kind in KINDS:
        if entry.get(kind) is not None:
            entry[f"result_{kind}"] = entry[kind]
        elif previous[kind] is not None:
            entry[f"before_{kind}"] = previous[kind]
            entry[f"result_{kind}"] = previous[kind] + modify[kind]


def _outside_change(r: redis.Redis, card_id: str, code: str, create_time: int,
                    modify: dict[str, int], event_id: str) -> dict[str, Any]:
    previous = _previous_results(r, card_id, code, until=create_time or None)
    entry: dict[str, Any] = {
        "change_id": "chg_" + secrets.token_hex(8), "card_id": card_id, "code": code,
        "key": None, "at": float(create_time or time.time()), "by": "wechat",
        "source": "wechat", "state": "done", "event_id": event_id,
        "bonus": None, "balance": None, "record_bonus": None, "record_balance": None,
    }
    for kind in KINDS:
        entry[f"add_{kind}"] = modify[kind]
        entry[f"before_{kind}"] = previous[kind]
        entry[f"result_{kind}"] = (previous[kind] + modify[kind]
                                   if previous[kind] is not None else None)
    return entry
