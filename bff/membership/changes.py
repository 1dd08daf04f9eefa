"""Bonus and balance changes exactly once, serialised per member, with a ledger per member.

Every change carries the caller's ``Idempotency-Key``. The key is bound to the member and the
body (a fingerprint): the same key with the same body is a retry and gets the first answer with
no second ``card/membercard/updateuser``; the same key with another body is refused (422).
Changes to one member run one at a time under a lock; a retry that arrives while its first
attempt is still running waits for it (bounded) and then answers with it.

The first attempt records a *pending* change before calling WeChat. If WeChat's answer is lost
after the request was sent (a timeout), the change stays *uncertain*: WeChat's
``update_member_card`` push settles it (the change happened; ``bff.membership.changes.reconcile``
marks it done), and a retry meanwhile is told to come back (503). After ``UNCERTAIN_SECONDS``
with no push the change is taken as not made and a retry makes it.

``update_member_card`` events reconcile with the ledger: an event is matched to the oldest
API change still waiting for its event whose amounts fit (``add_*`` equal to ModifyBonus /
ModifyBalance; an absolute ``bonus``/``balance`` fits any amount); an event that matches none
was a change made outside the service and is recorded with source ``wechat``.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import redis

from bff.errors import Conflict, NotFound, ServiceUnavailable, Unprocessable
from bff.store import keys, release_claim
from bff.wechat.api import WeChatApi
from bff.wechat.errors import ErrCode, WeChatApiError, WeChatUnavailable

# Read at call time, so tests can shorten them.
LOCK_TTL_MS = 30_000  # longer than one updateuser call with its timeouts
WAIT_SECONDS = 10.0
POLL_SECONDS = 0.02
UNCERTAIN_SECONDS = 600  # after this, an unconfirmed lost change is taken as not made
KEY_TTL = 30 * 86400
UNMATCHED_MAX_AGE = 86400  # an API change waits this long for its update_member_card event
KINDS = ("bonus", "balance")
CHANGE_FIELDS = ("add_bonus", "bonus", "record_bonus", "add_balance", "balance",
                 "record_balance", "custom_field_values", "background_pic_url", "notify")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def fingerprint(card_id: str, code: str, body: dict[str, Any]) -> str:
    return _digest(json.dumps({"card_id": card_id, "code": code, "body": body},
                              sort_keys=True, ensure_ascii=False))


def wechat_body(card_id: str, code: str, body: dict[str, Any]) -> dict[str, Any]:
    """The ``card/membercard/updateuser`` body of a change."""
    out: dict[str, Any] = {"card_id": card_id, "code": code}
    for name in ("add_bonus", "bonus", "record_bonus", "add_balance", "balance",
                 "record_balance", "background_pic_url"):
        if body.get(name) is not None:
            out[name] = body[name]
    for slot, value in sorted((body.get("custom_field_values") or {}).items()):
        out[f"custom_field_value{slot}"] = value
    notify = body.get("notify") or {}
    if notify:
        out["notify_optional"] = {f"is_notify_{k}": bool(v) for k, v in notify.items()}
    return out


@contextmanager
def member_lock(r: redis.Redis, card_id: str, code: str,
                wait_seconds: float | None = None) -> Iterator[None]:
    """Hold the member's lock (one change at a time); 503 after ``wait_seconds``."""
    key = keys.member_change_lock(card_id, code)
    owner = secrets.token_hex(16)
    deadline = time.monotonic() + (WAIT_SECONDS if wait_seconds is None else wait_seconds)
    while not r.set(key, owner, nx=True, px=LOCK_TTL_MS):
        if time.monotonic() >= deadline:
            raise ServiceUnavailable("another change to this member is in progress; retry",
                                     retry_after=2)
        time.sleep(POLL_SECONDS)
    try:
        yield
    finally:
        release_claim(r, key, owner)


def _read_key(r: redis.Redis, digest: str) -> dict[str, Any] | None:
    raw = r.get(keys.member_change_key(digest))
    return json.loads(raw) if raw else None


def _entry(r: redis.Redis, card_id: str, code: str, change_id: str) -> dict[str, Any] | None:
    raw = r.hget(keys.member_changes(card_id, code), change_id)
    return json.loads(raw) if raw else None


def _save(r: redis.Redis, entry: dict[str, Any], *, new: bool = False,
          awaits_event: bool = False) -> None:
    card_id, code = entry["card_id"], entry["code"]
    pipe = r.pipeline(transaction=True)
    pipe.hset(keys.member_changes(card_id, code), entry["change_id"], json.dumps(entry))
    if new:
        pipe.rpush(keys.member_change_order(card_id, code), entry["change_id"])
    if awaits_event:
        pipe.rpush(keys.member_change_unmatched(card_id, code), entry["change_id"])
    pipe.execute()


def _answer(entry: dict[str, Any]) -> dict[str, Any]:
    return {"change_id": entry["change_id"], "result_bonus": entry["result_bonus"],
            "result_balance": entry["result_balance"]}


def change_member(
    r: redis.Redis, wechat: WeChatApi, *, card_id: str, code: str, key: str,
    body: dict[str, Any], by: str,
) -> tuple[dict[str, Any], bool]:
    """Apply ``body`` to the member once per ``key``: (``{change_id, result_bonus,
    result_balance}``, True when this call made the change, False for a retry's answer)."""
    changes = {k: body[k] for k in CHANGE_FIELDS if body.get(k) not in (None, {}, "")}
    if not changes:
        raise Unprocessable("nothing to change: give a bonus, balance, custom field, "
                            "background or notify field")
    digest = _digest(key)
    fp = fingerprint(card_id, code, {**changes, "by": by})
    known = _replay(r, digest, fp)
    if known is not None:
        return known, False
    with member_lock(r, card_id, code):
        return _change_locked(r, wechat, card_id=card_id, code=code, key=key, digest=digest,
                              fp=fp, changes=changes, by=by)


def _replay(r: redis.Redis, digest: str, fp: str) -> dict[str, Any] | None:
    bound = _read_key(r, digest)
    if bound is None:
        return None
    if bound["fingerprint"] != fp:
        raise Unprocessable("this Idempotency-Key was used for another change (another member "
                            "or another body); use a new key for each change")
    if bound["state"] == "done":
        entry = _entry(r, bound["card_id"], bound["code"], bound["change_id"])
        return _answer(entry) if entry else None
    return None


def _change_locked(
    r: redis.Redis, wechat: WeChatApi, *, card_id: str, code: str, key: str, digest: str,
    fp: str, changes: dict[str, Any], by: str,
) -> tuple[dict[str, Any], bool]:
    known = _replay(r, digest, fp)  # the first attempt may have finished while we waited
    if known is not None:
        return known, False
    bound = _read_key(r, digest)
    entry = None
    if bound is not None:  # an earlier attempt lost its answer, or its worker died mid-call
        entry = _entry(r, card_id, code, bound["change_id"])
        if entry is None:
            r.delete(keys.member_change_key(digest))
        elif entry["state"] == "done":  # settled by its push
            _mark_key_done(r, entry)
            return _answer(entry), False
        elif time.time() - entry["at"] < UNCERTAIN_SECONDS:
            raise ServiceUnavailable(
                "the first attempt with this key reached WeChat but its answer was lost; "
                "WeChat's confirmation is awaited, retry later", retry_after=5)
    now = time.time()
    if entry is None:
        entry = {
            "change_id": "chg_" + secrets.token_hex(8), "card_id": card_id, "code": code,
            "key": key, "at": now, "by": by, "source": "api", "state": "pending",
            **{name: changes.get(name) for name in ("add_bonus", "bonus", "record_bonus",
                                                    "add_balance", "balance",
                                                    "record_balance")},
            "before_bonus": None, "before_balance": None,
            "result_bonus": None, "result_balance": None, "event_id": None,
        }
        fresh = True
    else:
        entry.update(at=now, state="pending")  # taken as not made: made now, same change_id
        fresh = False
    bound = {"card_id": card_id, "code": code, "fingerprint": fp,
             "change_id": entry["change_id"], "state": "pending"}
    if fresh and not r.set(keys.member_change_key(digest), json.dumps(bound), nx=True,
                           ex=KEY_TTL):
        raise Unprocessable("this Idempotency-Key is being used for another change right now")
    _save(r, entry, new=fresh, awaits_event=fresh)
    try:
        answer = wechat.membercard_updateuser(wechat_body(card_id, code, changes))
    except WeChatUnavailable as e:
        if e.request_sent:
            entry["state"] = "uncertain"
            _save(r, entry)
        else:
            _forget(r, digest, entry)
        raise
    except WeChatApiError as e:
        _forget(r, digest, entry)
        raise _refusal(e) from None
    for kind in KINDS:
        result = int(answer.get(f"result_{kind}") or 0)
        entry[f"result_{kind}"] = result
        if entry.get(f"add_{kind}") is not None and entry.get(kind) is None:
            entry[f"before_{kind}"] = result - entry[f"add_{kind}"]
        elif entry.get(f"add_{kind}") is None and entry.get(kind) is None:
            entry[f"before_{kind}"] = result
    entry["state"] = "done"
    _save(r, entry)
    r.set(keys.member_change_key(digest), json.dumps({**bound, "state": "done"}), ex=KEY_TTL)
    return _answer(entry), True


def _forget(r: redis.Redis, digest: str, entry: dict[str, Any]) -> None:
    """WeChat refused or never saw the change: no ledger entry, and the key is free again."""
    card_id, code, change_id = entry["card_id"], entry["code"], entry["change_id"]
    pipe = r.pipeline(transaction=True)
    pipe.hdel(keys.member_changes(card_id, code), change_id)
    pipe.lrem(keys.member_change_order(card_id, code), 0, change_id)
    pipe.lrem(keys.member_change_unmatched(card_id, code), 0, change_id)
    pipe.delete(keys.member_change_key(digest))
    pipe.execute()


def _refusal(e: WeChatApiError) -> Exception:
    if e.errcode == ErrCode.INVALID_SERIAL_CODE:
        return NotFound("no such member card code", errcode=e.errcode)
    if e.errcode == ErrCode.CARD_DELETED_OR_GIFTING:
        return Conflict("the member card was deleted, given away or made unavailable",
                        errcode=e.errcode)
    if e.errcode in (47001, 40073):
        return Unprocessable(f"WeChat refused the change: {e.errmsg}", errcode=e.errcode)
    return e


def _mark_key_done(r: redis.Redis, entry: dict[str, Any]) -> None:
    key = keys.member_change_key(_digest(entry["key"])) if entry.get("key") else None
    raw = r.get(key) if key else None
    if raw:
        r.set(key, json.dumps({**json.loads(raw), "state": "done"}), ex=KEY_TTL)


def ledger(r: redis.Redis, card_id: str, code: str) -> list[dict[str, Any]]:
    """The member's changes, oldest first."""
    ids = r.lrange(keys.member_change_order(card_id, code), 0, -1)
    if not ids:
        return []
    raws = r.hmget(keys.member_changes(card_id, code), ids)
    return [json.loads(raw) for raw in raws if raw]


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
            entry = _entry(r, card_id, code, seen)
            if entry is not None:
                return entry
        modify = {"bonus": modify_bonus, "balance": modify_balance}
        entry = _match(r, card_id, code, modify)
        if entry is None:
            entry = _outside_change(r, card_id, code, create_time, modify, event_id)
            _save(r, entry, new=True)
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
                _mark_key_done(r, entry)
            for kind in KINDS:
                if entry.get(f"before_{kind}") is None and entry.get(f"result_{kind}") is not None:
                    entry[f"before_{kind}"] = entry[f"result_{kind}"] - modify[kind]
            _save(r, entry)
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
        entry = _entry(r, card_id, code, change_id)
        if entry is None or entry["at"] < oldest:
            r.lrem(waiting_key, 0, change_id)  # gone, or too old to be this event's
            continue
        if _fits(entry, modify):
            r.lrem(waiting_key, 0, change_id)
            return entry
    return None


def _previous_results(r: redis.Redis, card_id: str, code: str,
                      before: str | None = None) -> dict[str, int | None]:
    """The results of the member's latest change that has them (before change ``before``)."""
    found: dict[str, int | None] = {"bonus": None, "balance": None}
    entries = ledger(r, card_id, code)
    ids = [e["change_id"] for e in entries]
    if before in ids:
        entries = entries[:ids.index(before)]
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
    previous = _previous_results(r, card_id, code)
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
