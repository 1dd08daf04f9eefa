"""Redemption, the one home for the user's and the operators' redemptions: query a code, and
redeem it once (one upstream consume per code; a retry gets the first answer, any other attempt a
409 that says when, where and through which channel the code was redeemed).

The ledger (``bff.ground.store.keys.redeem_ledger``) records each consumed code with who (the
operator account that redeemed it at the counter, or the staff id the caller gave), where
(location), when, through which channel, and the digest of the ``Idempotency-Key`` that
redeemed it. A caller whose key is that digest is the same request retried and gets the first
answer (200); anyone else — another key, or no key — gets ``Conflict`` naming that redemption.

Concurrent callers race for the code's claim (``bff.domain.once``, the one exactly-once
behaviour); the winner queries the code, records an *in-flight* entry, consumes and writes the
ledger; the others wait, bounded, for the ledger. The
in-flight entry outlives the claim: when a consume takes longer than the claim (a stalled worker,
a slow WeChat), the next claimant that hears "consumed" from WeChat settles the ledger from it,
so a retry of that request is never told "409" for its own redemption. Two consumes can then
reach WeChat; WeChat applies one, and the one that succeeded writes the ledger (its answer is
proof), overriding a guess. A consume whose answer was lost after sending keeps its in-flight
entry for a day, settled the same way. A consume WeChat refuses drops it.

The query is ``card/code/get`` with ``check_consume`` (``query_code``); finding a code
(``resolve_code``) and what WeChat's errcodes about a code mean live in ``bff.domain.ownership``. No
Flask here.

Used by the counter endpoint (``channel="counter"``), the merchant's server
(``channel="server"``), the Mini Program's self-redemption (``channel="self"``,
``bff.domain.cards.redeem``), the ``bff codes redeem`` CLI, and the ``user_consume_card`` push
handler
(``record_from_event``).
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from typing import Any

import redis

from bff.domain import once
from bff.domain.holdings import get_holding, set_status
from bff.domain.members.info import forget_member_info
from bff.domain.ownership import ALREADY_REDEEMED, translate_code_error
from bff.ground.errors import Conflict
from bff.ground.metrics import REDEMPTIONS
from bff.ground.store import keys
from bff.ground.wechat.api import WeChatApi
from bff.ground.wechat.errors import ErrCode, WeChatApiError, WeChatUnavailable

__all__ = [
    "ALREADY_REDEEMED", "already_redeemed_message", "describe", "key_digest", "lookup", "public",
    "query_code", "record_from_event", "redeem_once",
]

log = logging.getLogger(__name__)

# Milliseconds; longer than one query + consume. Read at call time, so a test can shorten it
# (monkeypatch) to make a consume outlive its claim without waiting a minute.
CLAIM_TTL_MS = 60_000
INFLIGHT_TTL = 86400
KEY_TTL = 30 * 86400  # how long an Idempotency-Key stays bound to its code
OUTSIDE = (f"{ALREADY_REDEEMED} outside this service (WeChat reports it consumed; its "
           "user_consume_card push, once handled, tells when and where)")


def query_code(wechat: WeChatApi, code: str, card_id: str | None = None) -> dict[str, Any]:
    """``card/code/get`` with ``check_consume``: a redeemable code's details, or a refusal."""
    try:
        answer = wechat.code_get(code, card_id=card_id, check_consume=True)
    except WeChatApiError as e:
        raise translate_code_error(e) from None
    card = answer.get("card") or {}
    return {
        "card_id": card.get("card_id") or card_id,
        "code": code,
        "openid": answer.get("openid"),
        "can_consume": bool(answer.get("can_consume")),
        "user_card_status": answer.get("user_card_status"),
        "begin_time": card.get("begin_time"),
        "end_time": card.get("end_time"),
    }


def query_for_counter(r: redis.Redis, wechat: WeChatApi, code: str,
                      card_id: str | None = None) -> dict[str, Any]:
    """``query_code`` for an operator: a code redeemed here says when, where and by whom."""
    try:
        return query_code(wechat, code, card_id)
    except Conflict as e:
        if e.errcode == ErrCode.CODE_CONSUMED:
            e.message = already_redeemed_message(r, code, card_id)
        raise


def key_digest(channel: str, scope: str, key: str | None) -> str | None:
    """The stored identity of an Idempotency-Key: per channel and caller, never the key itself."""
    return once.digest(channel, scope, key) if key else None


def lookup(r: redis.Redis, code: str, card_id: str | None = None) -> dict[str, Any] | None:
    """The ledger entry of a consumed code (``card_id`` optional when one card has the code)."""
    entries = r.hgetall(keys.redeem_ledger(code))
    if card_id:
        raw = entries.get(card_id)
    elif len(entries) == 1:
        raw = next(iter(entries.values()))
    else:
        raw = None
    return json.loads(raw) if raw else None


def public(entry: dict[str, Any]) -> dict[str, Any]:
    """A ledger entry as callers see it (without the key digest)."""
    return {"operator": None, **{k: v for k, v in entry.items() if k != "key"}}


def redeem_once(
    r: redis.Redis,
    wechat: WeChatApi,
    *,
    card_id: str | None,
    code: str,
    staff_id: str | None = None,
    location: str | None = None,
    channel: str = "counter",
    idempotency_key: str | None = None,
    operator: str | None = None,
    key_scope: str = "",
    wait_seconds: float | None = None,
    show_staff: bool = True,
) -> dict[str, Any]:
    """Consume ``code`` at most once; answer ``{card_id, code, openid, redeemed_at, staff_id,
    operator, location, channel}`` (``operator``: the operator who redeemed it at the counter).

    The request that redeemed the code, and its retries (same ``idempotency_key`` in the same
    channel and ``key_scope``), get that answer; any other attempt gets ``Conflict`` describing
    the redemption. Raises ``Unprocessable`` when the key was used for another code,
    ``Conflict`` / ``NotFound`` when WeChat says the code cannot be used, and
    ``ServiceUnavailable`` when another caller holds the claim longer than ``wait_seconds``
    (``bff.domain.once.WAIT_SECONDS`` by default).
    """
    digest = key_digest(channel, key_scope, idempotency_key)
    # what the key is bound to: the request (the code and what is recorded with it), so the
    # same key with another body is 422, as for every Idempotency-Key (bff.domain.once)
    bound_to = f"{code}\x1f{once.fingerprint([card_id, staff_id, location])}"
    if digest:
        _check_key(r, digest, bound_to)  # bound only once a consume is about to be sent

    def stored() -> dict[str, Any] | None:
        entry = lookup(r, code, card_id)
        return None if entry is None else _answer(entry, digest, channel, show_staff)

    def consume() -> dict[str, Any]:
        entry, consumed_here = _redeem_as_owner(
            r, wechat, card_id=card_id, code=code, staff_id=staff_id, location=location,
            channel=channel, digest=digest, operator=operator, bound_to=bound_to)
        return public(entry) if consumed_here else _answer(entry, digest, channel, show_staff)

    # One claim per code, whatever the key: two keys for one code are two requests, one wins.
    return once.run(r, keys.redeem_claim(code), stored=stored, action=consume,
                    wait_seconds=wait_seconds, claim_seconds=CLAIM_TTL_MS / 1000,
                    busy="this code is being redeemed by another request")


def _check_key(r: redis.Redis, digest: str, bound_to: str) -> None:
    """One key, one request: reusing a key for another code or body is a client bug, refused.
    (A binding written before the body was part of it names the code alone.)"""
    bound = r.get(keys.redeem_key(digest))
    if bound is not None and bound != bound_to and bound != bound_to.split("\x1f", 1)[0]:
        raise once.key_reused("it redeemed another code, or with another body; use a new key "
                              "for each redemption")


def _bind_key(r: redis.Redis, digest: str, bound_to: str) -> bool:
    """Bind the key to the request before its consume is sent (never before: a refused
    request leaves no key behind). True when this call bound it, to be undone on a refusal."""
    key = keys.redeem_key(digest)
    if r.set(key, bound_to, nx=True, ex=KEY_TTL):  # a once-marker (the key's binding)
        return True
    _check_key(r, digest, bound_to)
    return False


def _answer(entry: dict[str, Any], digest: str | None, channel: str,
            show_staff: bool) -> dict[str, Any]:
    """The first answer for the request that redeemed the code (same key); 409 for others."""
    if digest and entry.get("key") == digest:
        REDEMPTIONS.labels(channel, "replayed").inc()
        return public(entry)
    REDEMPTIONS.labels(channel, "refused").inc()
    raise Conflict(describe(entry, show_staff=show_staff), errcode=ErrCode.CODE_CONSUMED)


def _redeem_as_owner(
    r: redis.Redis, wechat: WeChatApi, *, card_id: str | None, code: str,
    staff_id: str | None, location: str | None, channel: str, digest: str | None,
    operator: str | None = None, bound_to: str = "",
) -> tuple[dict[str, Any], bool]:
    """(the ledger entry, True when this call's consume made it)."""
    token = secrets.token_hex(16)  # names this attempt's in-flight entry
    entry = lookup(r, code, card_id)  # the previous owner may have finished just before
    if entry is not None:
        return entry, False
    try:
        info = query_code(wechat, code, card_id)
    except Conflict as e:
        if e.errcode == ErrCode.CODE_CONSUMED:
            settled = _settle(r, code, card_id, exclude=token)
            if settled is not None:
                return settled, False
            e.message = OUTSIDE
        REDEMPTIONS.labels(channel, "refused").inc()
        raise
    if not info["can_consume"]:
        REDEMPTIONS.labels(channel, "refused").inc()
        raise Conflict(f"the code cannot be redeemed now (status {info['user_card_status']})")
    resolved = info["card_id"]
    entry = {
        "card_id": resolved, "code": code, "openid": info["openid"],
        "redeemed_at": int(time.time()), "staff_id": staff_id, "operator": operator,
        "location": location, "channel": channel, "key": digest,
    }
    bound_here = _bind_key(r, digest, bound_to or code) if digest else False
    inflight = keys.redeem_inflight(code)
    pipe = r.pipeline(transaction=True)
    pipe.hset(inflight, token, json.dumps(entry))
    pipe.expire(inflight, INFLIGHT_TTL)
    pipe.execute()
    try:
        answer = wechat.code_consume(code, card_id=resolved)
    except WeChatUnavailable as e:
        if not e.request_sent:
            r.hdel(inflight, token)  # never reached WeChat: nothing to settle later
            _unbind_key(r, digest, bound_here)
        REDEMPTIONS.labels(channel, "failed").inc()
        raise
    except WeChatApiError as e:
        r.hdel(inflight, token)
        _unbind_key(r, digest, bound_here)
        if e.errcode == ErrCode.CODE_CONSUMED:  # an attempt whose claim expired got there first
            settled = _settle(r, code, card_id, exclude=token)
            if settled is not None:
                return settled, False
        REDEMPTIONS.labels(channel, "refused").inc()
        raise translate_code_error(e) from None
    finally:  # it has reached WeChat, or may have: a member card's status changes
        forget_member_info(r, resolved, code)
    entry["openid"] = answer.get("openid") or entry["openid"]
    stored = _write(r, entry, token, proven=True)
    if get_holding(r, code) is not None:
        set_status(r, code, "CONSUMED")  # the user_consume_card push confirms it later
    REDEMPTIONS.labels(channel, "consumed").inc()
    log.info("code consumed card_id=%s channel=%s", resolved, channel)
    return stored, True


def _unbind_key(r: redis.Redis, digest: str | None, bound_here: bool) -> None:
    """The consume was refused, or never sent: the key this request bound is free again."""
    if digest and bound_here:
        r.delete(keys.redeem_key(digest))


def _settle(r: redis.Redis, code: str, card_id: str | None,
            exclude: str) -> dict[str, Any] | None:
    """WeChat says consumed: the ledger's entry, else the earliest other in-flight attempt's
    (its consume did it, or its answer was lost), recorded now; None when neither exists."""
    entry = lookup(r, code, card_id)
    if entry is not None:
        return entry
    candidates = []
    for owner, raw in r.hgetall(keys.redeem_inflight(code)).items():
        if owner == exclude:
            continue
        found = json.loads(raw)
        if not card_id or found["card_id"] == card_id:
            candidates.append((found["redeemed_at"], owner, found))
    if not candidates:
        return None
    _, owner, found = min(candidates, key=lambda c: (c[0], c[1]))
    return _write(r, found, owner, proven=False)


# KEYS[1] = ledger hash, KEYS[2] = in-flight hash (one hash tag); ARGV = card_id, entry JSON,
# in-flight owner, "1" when the entry is proven (its consume succeeded: it overrides a guess).
_WRITE = """
if ARGV[4] == '1' then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
else redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) end
redis.call('HDEL', KEYS[2], ARGV[3])
return redis.call('HGET', KEYS[1], ARGV[1])
"""


def _write(r: redis.Redis, entry: dict[str, Any], owner: str, *, proven: bool) -> dict[str, Any]:
    """Record the redemption; the ledger's entry after the write (a guess never overrides)."""
    code = entry["code"]
    raw = r.eval(_WRITE, 2, keys.redeem_ledger(code), keys.redeem_inflight(code),
                 entry["card_id"], json.dumps(entry), owner, "1" if proven else "0")
    return json.loads(raw)


def describe(entry: dict[str, Any], *, show_staff: bool = True) -> str:
    """``ALREADY_REDEEMED`` with when, where, by whom and through which channel."""
    parts = [f"at {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(entry['redeemed_at']))}"]
    if entry.get("location"):
        parts.append(f"in {entry['location']}")
    if show_staff and entry.get("operator") and not entry.get("staff_id"):
        parts.append(f"by operator {entry['operator']}")
    if show_staff and entry.get("staff_id"):
        parts.append(f"by staff {entry['staff_id']}")
    return f"{ALREADY_REDEEMED} ({' '.join(parts)}, channel {entry['channel']})"


def already_redeemed_message(r: redis.Redis, code: str, card_id: str | None) -> str:
    """``ALREADY_REDEEMED``, with when/where/who when this service did it."""
    entry = lookup(r, code, card_id)
    if entry is None:
        return OUTSIDE
    return describe(entry)


# KEYS[1] = ledger hash, KEYS[2] = in-flight hash (one hash tag); ARGV = card_id, entry JSON.
# Only when no ledger entry exists and no consume of ours is in flight (that one writes its own).
_FROM_EVENT = """
if redis.call('HLEN', KEYS[2]) > 0 then return 0 end
return redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2])
"""


def record_from_event(r: redis.Redis, *, card_id: str, code: str, openid: str, at: int,
                      location: str, staff: str, consume_source: str) -> bool:
    """A ``user_consume_card`` push for a code the ledger lacks (redeemed outside the service):
    record it, so a later attempt hears when, where and how. True when recorded."""
    if not card_id or not code:
        return False
    entry = {"card_id": card_id, "code": code, "openid": openid or None, "redeemed_at": at,
             "staff_id": staff or None, "location": location or None,
             "channel": f"wechat ({consume_source or 'unknown'})", "key": None}
    return bool(r.eval(_FROM_EVENT, 2, keys.redeem_ledger(code), keys.redeem_inflight(code),
                       card_id, json.dumps(entry)))
