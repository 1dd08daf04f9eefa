"""The custom-code pool of a card: codes an operator loaded, handed out once each.

``reserve_pool_code`` moves a code from ``available`` to ``reserved`` (with an expiry) in one
Lua script, which first retires expired reservations whose code no user received: a code shown
in one user's cardExt is never given to another (whoever saw it could present it at a
counter), so it goes to ``retired``, never back to ``available``. A holder (one user) has at
most one open reservation per card: asking again, or naming the card twice in one add-card,
answers the same code, so one user cannot drain the pool; after it lapses, a new one.
``mark_pool_code_received`` (card received / code decrypted) keeps a code for good: it goes to
the ``claimed`` set (the stored name of the set of received codes). Every key of one
card's pool shares one hash tag, so the scripts run on Redis Cluster too.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import redis

from bff.ground.store import keys

RESERVATION_SECONDS = 30 * 60
_PARTS = ("available", "reserved", "holder", "claimed", "held-by", "retired")

_LOAD = """
local added = 0
for i = 1, #ARGV do
  if redis.call('SADD', KEYS[1], ARGV[i]) == 1 then
    redis.call('SADD', KEYS[2], ARGV[i])
    added = added + 1
  end
end
return added
"""

# KEYS: available, reserved (zset code -> expires_at), holder (code -> holder), claimed,
#       held-by (holder -> code), retired; ARGV: now, expires_at, holder.
# Returns {code, expires_at} or {'', ''} (an empty pool).
_RESERVE = """
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, 100)
for _, code in ipairs(expired) do
  redis.call('ZREM', KEYS[2], code)
  local who = redis.call('HGET', KEYS[3], code)
  if who and redis.call('HGET', KEYS[5], who) == code then redis.call('HDEL', KEYS[5], who) end
  if redis.call('SISMEMBER', KEYS[4], code) == 0 then redis.call('SADD', KEYS[6], code) end
end
local mine = redis.call('HGET', KEYS[5], ARGV[3])
if mine then
  local until_ = redis.call('ZSCORE', KEYS[2], mine)
  if until_ then return {mine, until_} end
  redis.call('HDEL', KEYS[5], ARGV[3])
end
local code = redis.call('SPOP', KEYS[1])
if not code then return {'', ''} end
redis.call('ZADD', KEYS[2], ARGV[2], code)
redis.call('HSET', KEYS[3], code, ARGV[3])
redis.call('HSET', KEYS[5], ARGV[3], code)
return {code, ARGV[2]}
"""

# KEYS: all, available, reserved, holder, claimed, retired; ARGV: code
_RECEIVED = """
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('SREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('SREM', KEYS[6], ARGV[1])
redis.call('SADD', KEYS[5], ARGV[1])
return 1
"""


@dataclass(frozen=True)
class Reservation:
    """A reserved code until ``expires_at``, or (``code`` None) an empty pool: no code comes
    back to it (a lapsed reservation's code is retired), only codes the operator loads."""

    code: str | None
    expires_at: float | None


def load_pool(r: redis.Redis, card_id: str, codes: list[str]) -> int:
    """Add codes to the pool; returns how many were new (a code is never loaded twice)."""
    added = 0
    for i in range(0, len(codes), 500):
        batch = codes[i:i + 500]
        added += int(r.eval(_LOAD, 2, keys.pool(card_id, "all"), keys.pool(card_id, "available"),
                            *batch))
        pipe = r.pipeline(transaction=False)
        for code in batch:  # index only (custom codes need their card_id at /card/code/get)
            pipe.set(keys.pool_card(code), card_id, nx=True)
        pipe.execute()
    return added


def pool_card_of(r: redis.Redis, code: str) -> str | None:
    """The card whose pool a code was loaded into, if any."""
    return r.get(keys.pool_card(code))


def pool_available(r: redis.Redis, card_id: str) -> int:
    """Codes free to hand out (never shown to anyone)."""
    return int(r.scard(keys.pool(card_id, "available")))


def reserve_pool_code(
    r: redis.Redis, card_id: str, holder: str, *, ttl: int = RESERVATION_SECONDS,
    now: float | None = None,
) -> Reservation:
    """``holder``'s reservation: its open one if it has one, else a new code held until a
    user receives it or ``ttl`` passes; ``code`` None when the pool is empty."""
    now = time.time() if now is None else now
    code, until = r.eval(_RESERVE, 6, *(keys.pool(card_id, p) for p in _PARTS),
                         now, now + ttl, holder)
    return Reservation(code=code or None, expires_at=float(until) if until else None)


def mark_pool_code_received(r: redis.Redis, card_id: str, code: str) -> bool:
    """Keep a pool code for good (the card was received, by the user it was shown to, even
    after its reservation lapsed); False if it is not a pool code.

    The holder it was reserved for stays recorded (``pool_holder``)."""
    return bool(r.eval(_RECEIVED, 6, *(keys.pool(card_id, p) for p in
                                    ("all", "available", "reserved", "holder", "claimed",
                                     "retired")),
                       code))


def pool_holder(r: redis.Redis, card_id: str, code: str) -> str | None:
    """Who a pool code is or was reserved for (shown to); None if never reserved."""
    return r.hget(keys.pool(card_id, "holder"), code)
