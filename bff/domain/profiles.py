"""Card profiles: how the BFF treats each card (bound openid, code mode, self-redemption,
membership numbers, review state). The code pool is ``bff.domain.pool``.

A profile is one JSON string per card. Reads sit on the add-card hot path, so ``get_profile``
keeps each profile in process memory for ``CACHE_SECONDS`` (3 s), at most ``CACHE_ENTRIES`` of
them (a made-up card_id's default profile must not stay forever); a write through this module
drops the local copy at once, other processes see it within 3 s (and one read of Redis). When
a copy goes stale, one request reads it again while the others keep the stale copy: every
request of a worker reading it at once stalled them all for 36-129 ms every 3 s (add-card's
p99 at 32 connections, bench/RESULTS.md).
"""

from __future__ import annotations

import json
import threading
import time
import weakref
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

import redis

from bff.ground.errors import Unprocessable
from bff.ground.local_cache import StampedCache
from bff.ground.store import keys

CACHE_SECONDS = 3.0
CACHE_ENTRIES = 4096  # per app (Redis client), least recently expiring dropped first
CODE_MODES = ("none", "deposit", "pool")
DEPOSIT_MODE = "GET_CUSTOM_CODE_MODE_DEPOSIT"
# What add-card may sign for each kind of code a card is defined with: WeChat's own codes take
# no code; custom codes take one per user (the pool); deposited codes are WeChat's to pick
# (``deposit``), or one of them from a pool of the same codes.
MODES_OF_CODE = {"wechat": ("none",), "custom": ("pool",), "deposit": ("deposit", "pool")}
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
    # The card's own definition (card/create or card/get through the service) set bind_openid
    # and which code modes fit; ``defined_code`` is "" (never seen), "wechat", "custom" or
    # "deposit".
    defined_code: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


_NAMES = {f.name for f in fields(CardProfile)}
_cache: weakref.WeakKeyDictionary[Any, StampedCache[str, CardProfile]] = (
    weakref.WeakKeyDictionary()
)
_cache_lock = threading.Lock()  # around _cache (the per-client caches lock their own writes)


def clear_caches() -> None:
    """Forget every profile held in process memory (tests reuse one app across a flushed Redis)."""
    with _cache_lock:
        for local in list(_cache.values()):  # also reached through the client's attribute
            local.clear()


def _local(r: redis.Redis) -> StampedCache[str, CardProfile]:
    local = getattr(r, _ATTRIBUTE, None)  # the hot path: no weak-key lookup, no lock
    if local is not None:
        return local
    with _cache_lock:
        local = _cache.get(r)
        if local is None:
            local = _cache[r] = StampedCache(maxsize=CACHE_ENTRIES, ttl=CACHE_SECONDS)
        try:
            setattr(r, _ATTRIBUTE, local)
        except AttributeError:  # a client class with __slots__: the weak-key lookup each time
            pass
        return local


_ATTRIBUTE = "_bff_profile_cache"


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
    if not fresh:
        hit = local.get_or_claim(card_id, now)
        if hit is not None:
            return hit
    profile = _parse(card_id, r.get(keys.profile(card_id)))
    local.set(card_id, profile, now)
    return profile


def defined_code(base_info: dict[str, Any]) -> str:
    """The kind of code a card's ``base_info`` defines: wechat, custom or deposit."""
    if base_info.get("get_custom_code_mode") == DEPOSIT_MODE:
        return "deposit"
    return "custom" if base_info.get("use_custom_code") else "wechat"


def follow_definition(r: redis.Redis, card_id: str, base_info: dict[str, Any]) -> CardProfile:
    """Make what add-card signs follow the card's definition: its ``bind_openid``, and a code
    mode its codes allow (kept when it already fits, else the first that does)."""
    kind = defined_code(base_info)
    bind = base_info.get("bind_openid") is True

    def follow(current: CardProfile) -> CardProfile:
        modes = MODES_OF_CODE[kind]
        mode = current.code_mode if current.code_mode in modes else modes[0]
        return replace(current, bind_openid=bind, code_mode=mode, defined_code=kind)

    return _update(r, card_id, follow)


def definition_conflicts(profile: CardProfile, data: dict[str, Any]) -> dict[str, list[str]]:
    """``{field: [why]}`` for a change of bind_openid or code_mode the card's definition
    contradicts (only once the service has seen the definition)."""
    if not profile.defined_code:
        return {}
    wrong: dict[str, list[str]] = {}
    if "bind_openid" in data and data["bind_openid"] != profile.bind_openid:
        wrong["bind_openid"] = [f"the card is defined with bind_openid "
                                f"{str(profile.bind_openid).lower()}"]
    modes = MODES_OF_CODE[profile.defined_code]
    if "code_mode" in data and data["code_mode"] not in modes:
        wrong["code_mode"] = [f"the card's definition ({profile.defined_code} codes) allows "
                              f"code_mode {' or '.join(modes)}"]
    return wrong


def validate_profile(profile: CardProfile) -> None:
    if profile.code_mode not in CODE_MODES:
        raise ValueError(f"code_mode must be one of {CODE_MODES}")
    if profile.review_state not in REVIEW_STATES:
        raise ValueError(f"review_state must be one of {REVIEW_STATES}")


def put_profile(r: redis.Redis, card_id: str, data: dict) -> CardProfile:
    """Merge ``data`` into the stored profile (omitted fields keep their value); 422 for a
    bind_openid or code_mode the card's definition contradicts."""
    changes = {k: v for k, v in data.items()
               if k in _NAMES and k not in ("card_id", "defined_code")}

    def merge(current: CardProfile) -> CardProfile:
        wrong = definition_conflicts(current, changes)
        if wrong:
            named = "; ".join(f"{k}: {' '.join(v)}" for k, v in wrong.items())
            raise Unprocessable(f"the card's definition decides this: {named}", errors=wrong)
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
    _local(r).pop(card_id)
    return profile
