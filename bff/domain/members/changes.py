"""Bonus and balance changes exactly once, serialised per member, with a ledger per member.

Every change carries the caller's ``Idempotency-Key``. The key is bound to the member and the
body (a fingerprint): the same key with the same body is a retry and gets the first answer with
no second ``card/membercard/updateuser``; the same key with another body is refused (422).
Changes to one member run one at a time under a lock; a retry that arrives while its first
attempt is still running waits for it (bounded) and then answers with it: ``bff.domain.once``,
the one exactly-once behaviour.

The first attempt records a *pending* change before calling WeChat. If WeChat's answer is lost
after the request was sent (a timeout), the change stays *uncertain*: WeChat's
``update_member_card`` push settles it (``bff.domain.members.change_events.reconcile`` marks it
done), and a retry meanwhile is told to come back (503). After ``UNCERTAIN_SECONDS`` with no
push the change is taken as not made and a retry makes it. Storage: ``change_ledger``.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from typing import Any

import redis

from bff.domain import once
from bff.domain.members.change_ledger import (
    KEY_TTL,
    KINDS,
    get_change,
    mark_key_done,
    member_lock,
    read_key,
    save,
)
from bff.domain.members.info import forget_member_info
from bff.ground.errors import (
    Conflict,
    NotFound,
    Refusals,
    Unprocessable,
    refusal,
)
from bff.ground.store import keys
from bff.ground.wechat.api import WeChatApi
from bff.ground.wechat.errors import ErrCode, WeChatApiError, WeChatUnavailable

# Read at call time, so tests can shorten it.
UNCERTAIN_SECONDS = 600  # after this, an unconfirmed lost change is taken as not made
CHANGE_FIELDS = ("add_bonus", "bonus", "record_bonus", "add_balance", "balance",
                 "record_balance", "custom_field_values", "background_pic_url", "notify")


def fingerprint(card_id: str, code: str, body: dict[str, Any]) -> str:
    return once.fingerprint({"card_id": card_id, "code": code, "body": body})


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


def _answer(entry: dict[str, Any]) -> dict[str, Any]:
    return {"change_id": entry["change_id"], "result_bonus": entry["result_bonus"],
            "result_balance": entry["result_balance"]}


def change_member(
    r: redis.Redis, wechat: WeChatApi, *, card_id: str, code: str, key: str,
    body: dict[str, Any], by: str, clock: Callable[[], float],
) -> tuple[dict[str, Any], bool]:
    """Apply ``body`` to the member once per ``key``: (``{change_id, result_bonus,
    result_balance}``, True when this call made the change, False for a retry's answer).

    ``clock`` gives the change's time (wall-clock seconds), read once the member's lock is held.
    """
    changes = {k: body[k] for k in CHANGE_FIELDS if body.get(k) not in (None, {}, "")}
    if not changes:
        raise Unprocessable("nothing to change: give a bonus, balance, custom field, "
                            "background or notify field")
    digest = once.digest(key)
    fp = fingerprint(card_id, code, {**changes, "by": by})

    def stored() -> tuple[dict[str, Any], bool] | None:
        known = _replay(r, digest, fp)
        return None if known is None else (known, False)

    def first() -> tuple[dict[str, Any], bool]:
        with member_lock(r, card_id, code):
            return _change_locked(r, wechat, card_id=card_id, code=code, key=key,
                                  digest=digest, fp=fp, changes=changes, by=by, clock=clock)

    return once.run(r, keys.member_change_claim(digest), stored=stored, action=first)


def _replay(r: redis.Redis, digest: str, fp: str) -> dict[str, Any] | None:
    bound = read_key(r, digest)
    if bound is None:
        return None
    if bound["fingerprint"] != fp:
        raise once.key_reused("it made another change (another member or another body); "
                              "use a new key for each change")
    if bound["state"] == "done":
        entry = get_change(r, bound["card_id"], bound["code"], bound["change_id"])
        return _answer(entry) if entry else None
    return None


def _change_locked(
    r: redis.Redis, wechat: WeChatApi, *, card_id: str, code: str, key: str, digest: str,
    fp: str, changes: dict[str, Any], by: str, clock: Callable[[], float],
) -> tuple[dict[str, Any], bool]:
    bound = read_key(r, digest)
    now = clock()
    entry = None
    if bound is not None:  # an earlier attempt lost its answer, or its worker died mid-call
        entry = get_change(r, card_id, code, bound["change_id"])
        if entry is None:
            r.delete(keys.member_change_key(digest))
        elif entry["state"] == "done":  # settled by its push
            mark_key_done(r, entry)
            return _answer(entry), False
        elif now - entry["at"] < UNCERTAIN_SECONDS:
            raise once.answer_lost()
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
    # A once-marker (the key's binding, kept 30 days), not a lock: the key's claim is held.
    if fresh and not r.set(keys.member_change_key(digest), json.dumps(bound), nx=True,
                           ex=KEY_TTL):
        raise once.key_reused("it is being used for another change right now")
    save(r, entry, new=fresh, awaits_event=fresh)
    try:
        answer = wechat.membercard_updateuser(wechat_body(card_id, code, changes))
    except WeChatUnavailable as e:
        if e.request_sent:
            entry["state"] = "uncertain"
            save(r, entry)
        else:
            _forget(r, digest, entry)
        raise
    except WeChatApiError as e:
        _forget(r, digest, entry)
        raise refusal(e, CHANGE_REFUSALS) from None
    finally:  # the change has reached WeChat, or may have
        forget_member_info(r, card_id, code)
    for kind in KINDS:
        result = int(answer.get(f"result_{kind}") or 0)
        entry[f"result_{kind}"] = result
        if entry.get(f"add_{kind}") is not None and entry.get(kind) is None:
            entry[f"before_{kind}"] = result - entry[f"add_{kind}"]
        elif entry.get(f"add_{kind}") is None and entry.get(kind) is None:
            entry[f"before_{kind}"] = result
    entry["state"] = "done"
    save(r, entry)
    r.set(keys.member_change_key(digest), json.dumps({**bound, "state": "done"}), ex=KEY_TTL)
    return _answer(entry), True


def _forget(r: redis.Redis, digest: str, entry: dict[str, Any]) -> None:
    """WeChat refused or never saw the change: no ledger entry, and the key is free again."""
    card_id, code, change_id = entry["card_id"], entry["code"], entry["change_id"]
    pipe = r.pipeline(transaction=True)  # one hash tag: the member's
    pipe.hdel(keys.member_changes(card_id, code), change_id)
    pipe.lrem(keys.member_change_order(card_id, code), 0, change_id)
    pipe.lrem(keys.member_change_unmatched(card_id, code), 0, change_id)
    pipe.execute()
    r.delete(keys.member_change_key(digest))  # another slot: never in the same MULTI


CHANGE_REFUSALS: Refusals = {
    ErrCode.INVALID_SERIAL_CODE: (NotFound, "no such member card code"),
    ErrCode.CARD_DELETED_OR_GIFTING: (Conflict, "the member card was deleted, given away or "
                                                "made unavailable"),
    ErrCode.DATA_FORMAT_ERROR: (Unprocessable, "WeChat refused the change: {errmsg}"),
    ErrCode.INVALID_CARD_ID: (Unprocessable, "WeChat refused the change: {errmsg}"),
}


