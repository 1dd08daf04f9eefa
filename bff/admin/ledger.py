"""Redeem a code once: one upstream consume per code, and every caller gets the first outcome.

The ledger (``bff.store.keys.redeem_ledger``) records each consumed code with who (staff id),
where (location), when and through which channel. Concurrent callers race for a short claim
(SET NX); the winner queries the code, consumes it and writes the ledger entry; the others wait,
bounded, for that entry and answer with it. A consume that fails releases the claim, so the next
caller queries WeChat again (a query, never a second consume). Every consume is preceded by an
"uncertain" marker (removed once the ledger entry is written or WeChat refused): if the answer
or the ledger write is lost and WeChat later says the code is consumed, the marker becomes the
ledger entry instead of a confusing "already redeemed".

Used by the counter endpoint (``channel="counter"``), the merchant's server
(``channel="server"``) and the Mini Program's self-redemption (``channel="self"``).
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from typing import Any

import redis

from bff.admin.redemption import ALREADY_REDEEMED, query_code, translate
from bff.errors import Conflict, ServiceUnavailable
from bff.metrics import REDEMPTIONS
from bff.store import keys, release_claim
from bff.wechat.api import WeChatApi
from bff.wechat.errors import ErrCode, WeChatApiError, WeChatUnavailable

log = logging.getLogger(__name__)

CLAIM_TTL = 60  # seconds; longer than one query + consume, retries included
UNCERTAIN_TTL = 86400
WAIT_SECONDS = 10.0
POLL_SECONDS = 0.02

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


def redeem_once(
    r: redis.Redis,
    wechat: WeChatApi,
    *,
    card_id: str | None,
    code: str,
    staff_id: str | None = None,
    location: str | None = None,
    channel: str = "counter",
    wait_seconds: float = WAIT_SECONDS,
) -> dict[str, Any]:
    """Consume ``code`` at most once; answer ``{card_id, code, openid, redeemed_at, staff_id,
    location, channel}`` — the same answer for every caller, however many come at once.

    Raises ``Conflict`` / ``NotFound`` when WeChat says the code cannot be used, and
    ``ServiceUnavailable`` when another caller holds the claim longer than ``wait_seconds``.
    """
    deadline = time.monotonic() + wait_seconds
    while True:
        entry = lookup(r, code, card_id)
        if entry is not None:
            REDEMPTIONS.labels(channel, "replayed").inc()
            return entry
        token = secrets.token_hex(16)
        if r.set(keys.redeem_claim(code), token, nx=True, ex=CLAIM_TTL):
            try:
                return _redeem_as_owner(r, wechat, card_id=card_id, code=code,
                                        staff_id=staff_id, location=location, channel=channel)
            finally:
                release_claim(r, keys.redeem_claim(code), token)
        if time.monotonic() >= deadline:
            raise ServiceUnavailable(
                "this code is being redeemed by another request; try again", retry_after=2
            )
        time.sleep(POLL_SECONDS)


def _redeem_as_owner(
    r: redis.Redis, wechat: WeChatApi, *, card_id: str | None, code: str,
    staff_id: str | None, location: str | None, channel: str,
) -> dict[str, Any]:
    entry = lookup(r, code, card_id)  # the previous owner may have finished just before
    if entry is not None:
        REDEMPTIONS.labels(channel, "replayed").inc()
        return entry
    try:
        info = query_code(wechat, code, card_id)
    except Conflict as e:
        if e.errcode == ErrCode.CODE_CONSUMED:
            settled = _settle_uncertain(r, code, card_id)
            if settled is not None:
                return settled
        REDEMPTIONS.labels(channel, "refused").inc()
        raise
    if not info["can_consume"]:
        REDEMPTIONS.labels(channel, "refused").inc()
        raise Conflict(f"the code cannot be redeemed now (status {info['user_card_status']})")
    resolved = info["card_id"]
    entry = {
        "card_id": resolved, "code": code, "openid": info["openid"],
        "redeemed_at": int(time.time()), "staff_id": staff_id, "location": location,
        "channel": channel,
    }
    # Written ahead (an earlier attempt's is kept): if the answer, or the ledger write after it,
    # is lost (a timeout, Redis failing over), a retry that hears "consumed" settles this
    # redemption instead of answering 409 (found by bench/soak.py).
    uncertain = keys.redeem_uncertain(code)
    earlier = not r.set(uncertain, json.dumps(entry), ex=UNCERTAIN_TTL, nx=True)
    try:
        answer = wechat.code_consume(code, card_id=resolved)
    except WeChatUnavailable as e:
        if not e.request_sent and not earlier:
            r.delete(uncertain)
        REDEMPTIONS.labels(channel, "failed").inc()
        raise
    except WeChatApiError as e:
        if e.errcode == ErrCode.CODE_CONSUMED and earlier:
            # the earlier attempt's consume landed between our query and our consume
            settled = _settle_uncertain(r, code, card_id)
            if settled is not None:
                return settled
        if not earlier:
            r.delete(uncertain)  # a definite refusal: nothing of ours happened
        REDEMPTIONS.labels(channel, "refused").inc()
        raise translate(e) from None
    entry["openid"] = answer.get("openid") or entry["openid"]
    _write(r, entry)
    REDEMPTIONS.labels(channel, "consumed").inc()
    log.info("code consumed card_id=%s channel=%s", resolved, channel)
    return entry


def _settle_uncertain(r: redis.Redis, code: str, card_id: str | None) -> dict[str, Any] | None:
    """WeChat says consumed: if our own lost consume did it, record it now and answer with it."""
    raw = r.get(keys.redeem_uncertain(code))
    entry = json.loads(raw) if raw else None
    if entry is None or (card_id and entry["card_id"] != card_id):
        return lookup(r, code, card_id)
    _write(r, entry)
    return entry


def _write(r: redis.Redis, entry: dict[str, Any]) -> None:
    pipe = r.pipeline(transaction=True)
    pipe.hset(keys.redeem_ledger(entry["code"]), entry["card_id"], json.dumps(entry))
    pipe.delete(keys.redeem_uncertain(entry["code"]))
    pipe.execute()


def already_redeemed_message(r: redis.Redis, code: str, card_id: str | None) -> str:
    """``ALREADY_REDEEMED``, with when/where/who when this service did it."""
    entry = lookup(r, code, card_id)
    if entry is None:
        return ALREADY_REDEEMED
    parts = [f"at {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(entry['redeemed_at']))}"]
    if entry.get("location"):
        parts.append(f"in {entry['location']}")
    if entry.get("staff_id"):
        parts.append(f"by staff {entry['staff_id']}")
    return f"{ALREADY_REDEEMED} ({' '.join(parts)}, channel {entry['channel']})"
