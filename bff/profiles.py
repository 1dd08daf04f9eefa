"""Card profiles (how the BFF treats each card) and the custom-code pool.

A profile is one JSON string per card. Reads sit on the add-card hot path, so ``get_profile``
keeps each profile in process memory for ``CACHE_SECONDS`` (3 s); a write through this module
drops the local copy at once, other processes see it within 3 s.

The pool hands each code out at most once: ``reserve_pool_code`` moves a code from ``available``
to ``reserved`` (with an expiry) in one Lua script, which first returns expired, unclaimed
reservations to ``available``; ``claim_pool_code`` (card received / code decrypted) keeps a code
for good.
"""

from __future__ import annotations

import json
import threading
import time
import weakref
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

import redis

from bff.store import keys

CACHE_SECONDS = 3.0
RESERVATION_SECONDS = 30 * 60
CODE_MODES = ("none", "deposit", "pool")
# unknown: created elsewhere (WeChat alone judges); pending: created or changed through the
# catalogue and waiting for WeChat's review.
REVIEW_STATES = ("unknown", "pending", "approved", "rejected", "deleted")


def _default_number() -> dict:
    return {"mode": "code", "prefix": "", "width": 0}


@dataclass(frozen=True)
class CardProfile:
    card_id: str
    bind_openid: bool = False
    code_mode: str = "none"
    self_redeem: bool = False
    membership_number: dict = field(default_factory=_default_number)
    init_bonus: int = 0
    init_bonus_record: str = ""
    init_balance: int = 0
    background_pic_url: str = ""
    review_state: str = "unknown"
    review_reason: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


_NAMES = {f.name for f in fields(CardProfile)}
_cache: weakref.WeakKeyDictionary[Any, dict[str, tuple[float, CardProfile]]] = (
    weakref.WeakKeyDictionary()
)
_cache_lock = threading.Lock()


def _local(r: redis.Redis) -> dict[str, tuple[float, CardProfile]]:
    with _cache_lock:
        return _cache.setdefault(r, {})


def _parse(card_id: str, raw: str | None) -> CardProfile:
    if not raw:
        return CardProfile(card_id=card_id)
    data = {k: v for k, v in json.loads(raw).items() if k in _NAMES}
    data["card_id"] = card_id
    return CardProfile(**data)


def get_profile(r: redis.Redis, card_id: str, *, fresh: bool = False) -> CardProfile:
    """The card's profile (defaults when never set); at most ``CACHE_SECONDS`` old."""
    local = _local(r)
    now = time.monotonic()
    hit = local.get(card_id)
    if hit and not fresh and now - hit[0] < CACHE_SECONDS:
        return hit[1]
    profile = _parse(card_id, r.get(keys.profile(card_id)))
    local[card_id] = (now, profile)
    return profile


def validate_profile(profile: CardProfile) -> None:
    if profile.code_mode not in CODE_MODES:
        raise ValueError(f"code_mode must be one of {CODE_MODES}")
    if profile.review_state not in REVIEW_STATES:
        raise ValueError(f"review_state must be one of {REVIEW_STATES}")


def put_profile(r: redis.Redis, card_id: str, data: dict) -> CardProfile:
    """Merge ``data`` into the stored profile (omitted fields keep their value)."""
    changes = {k: v for k, v in data.items() if k in _NAMES and k != "card_id"}

    def merge(current: CardProfile) -> CardProfile:
        merged = dict(changes)
        if "membership_number" in merged:
            merged["membership_number"] = {**current.membership_number,
                                           **merged["membership_number"]}
        return replace(current, **merged)

    return _update(r, card_id, merge)


def set_review_state(r: redis.Redis, card_id: str, state: str, reason: str | None = None) -> None:
    """Record WeChat's review verdict (card_pass_check / card_not_pass_check events)."""
    _update(r, card_id, lambda p: replace(p, review_state=state, review_reason=reason))


def _update(r: redis.Redis, card_id: str, change: Any) -> CardProfile:
    """Read, change and write one profile under WATCH: an operator's PUT and a review event
    (or two PUTs of different fields) at once must not drop each other's change."""
    key = keys.profile(card_id)

    def txn(pipe: Any) -> CardProfile:
        profile = change(_parse(card_id, pipe.get(key)))
        validate_profile(profile)
        pipe.multi()
        pipe.set(key, json.dumps(profile.as_dict(), sort_keys=True))
        return profile

    profile = r.transaction(txn, key, value_from_callable=True)
    _local(r).pop(card_id, None)
    return profile


# -- the code pool ---------------------------------------------------------------------------

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

# KEYS: available, reserved, holder, claimed; ARGV: now, expires_at, holder
_RESERVE = """
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, 100)
for _, code in ipairs(expired) do
  redis.call('ZREM', KEYS[2], code)
  redis.call('HDEL', KEYS[3], code)
  if redis.call('SISMEMBER', KEYS[4], code) == 0 then redis.call('SADD', KEYS[1], code) end
end
local code = redis.call('SPOP', KEYS[1])
if not code then return false end
redis.call('ZADD', KEYS[2], ARGV[2], code)
redis.call('HSET', KEYS[3], code, ARGV[3])
return code
"""

# KEYS: all, available, reserved, holder, claimed; ARGV: code
_CLAIM = """
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('SREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('SADD', KEYS[5], ARGV[1])
return 1
"""


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
    """Codes free to hand out, counting expired reservations that will be released."""
    pipe = r.pipeline(transaction=False)
    pipe.scard(keys.pool(card_id, "available"))
    pipe.zcount(keys.pool(card_id, "reserved"), "-inf", time.time())
    free, expired = pipe.execute()
    return int(free) + int(expired)


def reserve_pool_code(
    r: redis.Redis, card_id: str, holder: str, *, ttl: int = RESERVATION_SECONDS,
    now: float | None = None,
) -> str | None:
    """Reserve one code for ``holder`` until it is claimed or ``ttl`` passes; None when empty."""
    now = time.time() if now is None else now
    code = r.eval(_RESERVE, 4, *(keys.pool(card_id, p) for p in
                                 ("available", "reserved", "holder", "claimed")),
                  now, now + ttl, holder)
    return code or None


def claim_pool_code(r: redis.Redis, card_id: str, code: str) -> bool:
    """Keep a pool code for good (the card was received); False if it is not a pool code.

    The holder it was reserved for stays recorded (``pool_holder``).
    """
    return bool(r.eval(_CLAIM, 5, *(keys.pool(card_id, p) for p in
                                    ("all", "available", "reserved", "holder", "claimed")),
                       code))


def pool_holder(r: redis.Redis, card_id: str, code: str) -> str | None:
    """Who a pool code is (or was, until claimed) reserved for; None if not a reserved code."""
    return r.hget(keys.pool(card_id, "holder"), code)
