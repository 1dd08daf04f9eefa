"""The member-change ledger's storage: the per-member lock, the entries in order, and what each
Idempotency-Key did (its digest: ``bff.domain.once``). Keys: ``bff.ground.store.keys``
(``member_change_*``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import redis
from redis.exceptions import LockError

from bff.domain import once
from bff.ground.errors import ServiceUnavailable
from bff.ground.store import STORE_ERRORS, keys

# Read at call time, so tests can shorten them.
LOCK_TTL_MS = 30_000  # longer than one updateuser call with its timeouts
WAIT_SECONDS = 10.0
POLL_SECONDS = 0.02
KEY_TTL = 30 * 86400
KINDS = ("bonus", "balance")


@contextmanager
def member_lock(r: redis.Redis, card_id: str, code: str,
                wait_seconds: float | None = None) -> Iterator[None]:
    """Hold the member's lock (one change at a time); 503 after ``wait_seconds``."""
    lock = r.lock(keys.member_change_lock(card_id, code), timeout=LOCK_TTL_MS / 1000,
                  sleep=POLL_SECONDS,
                  blocking_timeout=WAIT_SECONDS if wait_seconds is None else wait_seconds)
    if not lock.acquire():
        raise ServiceUnavailable("another change to this member is in progress; retry",
                                 retry_after=2)
    try:
        yield
    finally:
        try:
            lock.release()
        except (LockError, *STORE_ERRORS):
            pass  # lapsed, or the store is away: the lock expires by itself


def read_key(r: redis.Redis, digest: str) -> dict[str, Any] | None:
    raw = r.get(keys.member_change_key(digest))
    return json.loads(raw) if raw else None


def get_change(r: redis.Redis, card_id: str, code: str, change_id: str) -> dict[str, Any] | None:
    raw = r.hget(keys.member_changes(card_id, code), change_id)
    return json.loads(raw) if raw else None


def save(r: redis.Redis, entry: dict[str, Any], *, new: bool = False,
         awaits_event: bool = False) -> None:
    """Write the entry; ``new`` appends it to the order, ``awaits_event`` to the unmatched."""
    card_id, code = entry["card_id"], entry["code"]
    pipe = r.pipeline(transaction=True)
    pipe.hset(keys.member_changes(card_id, code), entry["change_id"], json.dumps(entry))
    if new:
        pipe.rpush(keys.member_change_order(card_id, code), entry["change_id"])
    if awaits_event:
        pipe.rpush(keys.member_change_unmatched(card_id, code), entry["change_id"])
    pipe.execute()


def mark_key_done(r: redis.Redis, entry: dict[str, Any]) -> None:
    """The entry's Idempotency-Key now answers with it (a lost answer settled by its push)."""
    key = keys.member_change_key(once.digest(entry["key"])) if entry.get("key") else None
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
