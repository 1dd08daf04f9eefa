"""The holding a ``user_get_card`` push reports, merged in one Lua script.

``record_receipt`` is run at receipt of the push (so a decrypt right after wx.addCard finds
WeChat's word on who received the code) and again by the worker; it is idempotent. It does
what ``holdings.record_holding`` does for such a holding (read the hash, keep a final status of
the same owner and the first ``received_at``, write the non-empty fields, move the code between
the owners' indexes), but the read and the write are one script on the holding's key, sent in
one pipeline with the owner index's SADD: one round trip instead of two (HGETALL, then the
write pipeline), shared with concurrent acknowledgements (``bff.ground.store.coalesce``).
The rare change of owner (a code re-received by another user) removes the code from the
previous owner's index in one more round trip, as ``record_holding`` does.

The script cannot join the acknowledgement's own (the signed-pair marker, the dedup marker
and the stream, ``bff.domain.events.stream``): the holding is keyed by its code, in a hash
slot of its own, and every script must stay in one slot (Redis Cluster; tests/slot_guard.py).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import redis

from bff.domain.events.parse import CardEvent
from bff.domain.ownership import FINAL
from bff.ground.store import coalesce, keys

# KEYS: the holding[, the push's signed-pair marker in the holding's slot]. ARGV: the owner,
# the event's time (its CreateTime; the received_at to write unless one is kept), the friend
# it is a gift from ('' if none), the count of the other fields, then those fields as
# name/value pairs (non-empty ones only: an empty field never erases a stored one)[, the
# marker's TTL]. Returns the previous owner when the code changed hands (the caller takes the
# code off that owner's index), else ''; -1 when the marker was set before (a replayed push)
# and -2 for a receipt older than the last one applied (a late or replayed push): then nothing
# is written. The merge is the rule of the former record_receipt (a read, then
# holdings.record_holding); tests/events/test_receipt.py compares the two on every stored state.
#
# The order rule: the holding keeps the time of the last receipt applied (``receipt_time``),
# and an earlier one is not applied, nor one of the same second that would move the code to
# another owner, unless it is a gift from the holder. A replayed or late push therefore never
# takes back a code that moved on, whether or not its marker is there (a receipt that failed at
# push time and was recorded by the worker, a push accepted by an earlier release), and the
# worker, recording receipts again in stream order, never undoes a newer one.
_SCRIPT = coalesce.Script("""
local FINAL = {FINAL_STATUSES}
local owner, at, friend, n = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
if #KEYS == 2 and not redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[5 + 2 * n]) then
  return -1
end
-- (each test of "exists" below is implied by a field it reads: a hash without fields is none)
local old = redis.call('HMGET', KEYS[1], 'oa_openid', 'status', 'received_at', 'receipt_time')
local old_owner = old[1] or ''
local last, t = tonumber(old[4] or '') or 0, tonumber(at) or 0
if t < last or (t == last and old_owner ~= owner and not (friend ~= '' and friend == old_owner))
then
  return -2
end
local values = {'receipt_time', at}
for k = 5, 4 + 2 * n do values[#values + 1] = ARGV[k] end
-- a final status (consumed, gifted, deleted) of the same owner is kept: a late push
if not (old_owner == owner and FINAL[old[2] or '']) then
  values[#values + 1] = 'status'; values[#values + 1] = 'NORMAL'
end
-- so is the first time the same owner received it
if not ((tonumber(old[3] or '0') or 0) ~= 0 and old_owner == owner) then
  values[#values + 1] = 'received_at'; values[#values + 1] = at
end
redis.call('HSET', KEYS[1], unpack(values))
if old_owner ~= '' and owner ~= '' and old_owner ~= owner then return old_owner end
return ''
""".replace("FINAL_STATUSES", ", ".join(f"{status}=true" for status in sorted(FINAL))))


@dataclass(frozen=True)
class Receipt:
    """What a ``user_get_card`` push says of its code: the holding's key, the owner's index
    (None without an owner) and the script's arguments."""

    code: str
    owner: str
    holding_key: str
    index_key: str | None
    args: list[Any]


def receipt_of(ev: CardEvent, now: int | None = None) -> Receipt | None:
    """The receipt a ``user_get_card`` event reports; None without a code."""
    if not ev.code:
        return None
    now = int(time.time()) if now is None else now
    gift = ev.is_give_by_friend
    named = {"card_id": ev.card_id, "code": ev.code, "oa_openid": ev.openid,
             "outer_str": ev.outer_str, "gift_from": ev.friend_openid if gift else "",
             "old_code": ev.old_code if gift else "", "receipt": "gift" if gift else "push",
             "receiver_unionid": f"{ev.openid} {ev.unionid}" if ev.openid and ev.unionid
             else "", "updated_at": str(now)}
    pairs = [x for kv in named.items() if kv[1] for x in kv]
    args = [ev.openid, str(ev.create_time or now), ev.friend_openid if gift else "",
            len(pairs) // 2, *pairs]
    return Receipt(code=ev.code, owner=ev.openid, holding_key=keys.holding(ev.code),
                   index_key=keys.holdings_of("oa", ev.openid) if ev.openid else None,
                   args=args)


def record_receipt(r: redis.Redis, ev: CardEvent) -> Receipt | None:
    """Merge the receipt of ``ev`` into its code's holding (see the module's docstring)."""
    receipt = receipt_of(ev)
    if receipt is None:
        return None
    # Sent again after a restarted or flushed server's NOSCRIPT: the SADD is idempotent.
    previous = coalesce.send(r, lambda pipe: add_receipt(pipe, receipt), scripts=SCRIPTS)[0]
    take_off(r, receipt, previous)
    return receipt


SCRIPTS = (_SCRIPT,)


def add_receipt(pipe: Any, receipt: Receipt, once: tuple[str, int] | None = None) -> None:
    """The receipt's commands, added to a pipeline: the script on the holding, then the
    owner index's SADD. ``once``: the push's signed-pair marker in the holding's slot
    (``keys.receipt_seen``) and its TTL; the script then writes only if the marker was not
    set before (its reply is -1 otherwise), and sets it. A receipt so guarded can go out
    with the push's recording, before the recording's replay check has answered: a replayed
    push rewrites no holding either way."""
    if once is None:
        _SCRIPT.call(pipe, [receipt.holding_key], receipt.args)
    else:
        _SCRIPT.call(pipe, [receipt.holding_key, once[0]], [*receipt.args, once[1]])
    if receipt.index_key:
        pipe.sadd(receipt.index_key, receipt.code)


def take_off(r: redis.Redis, receipt: Receipt, previous: str | int | None) -> None:
    """The code changed hands: off the previous owner's index (holdings_of re-checks anyway).
    ``previous``: the script's reply (an int when it wrote nothing)."""
    if isinstance(previous, str) and previous:
        # With the request's next round trip, or at its end, shared with concurrent requests
        # (coalesce.later): a round trip of its own through redis-py's pool took a safe-mode
        # acknowledgement from 3,700 to 2,200 a second when every push moved a code.
        index, code = keys.holdings_of("oa", previous), receipt.code
        coalesce.later(r, lambda pipe: pipe.srem(index, code))


