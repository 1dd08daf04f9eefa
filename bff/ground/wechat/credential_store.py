"""The Redis side of credentials: the shared value, its refresh lock, and a recent failure.

Per appid and kind (``keys.credential*``): a hash ``{value, expires_at, refresh_at}``, a lock
string held by the one process that asks WeChat, and a short-lived failure record so the other
processes do not ask again at once. Deletes compare first, in a small Lua script.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import redis as redislib
from redis.exceptions import LockError
from redis.lock import Lock

from bff.ground.store import UNAVAILABLE, keys
from bff.ground.wechat.errors import WeChatError, WeChatUnavailable, error_for

REDIS_DOWN = UNAVAILABLE

# KEYS[1] = credential hash, ARGV[1] = the value that failed. Deletes only that value.
_EXPIRE_IF_SAME = """
if redis.call('HGET', KEYS[1], 'value') == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@dataclass(frozen=True)
class Entry:
    value: str
    expires_at: float  # epoch seconds; never serve after this
    refresh_at: float  # epoch seconds; one process refreshes from here on
    local_until: float = 0.0  # epoch seconds; re-read Redis after this


class CredentialStore:
    """One appid's credential entries, locks and failure records in Redis."""

    def __init__(
        self, redis: redislib.Redis, appid: str, *, lock_ttl_ms: int, failure_ttl_ms: int
    ) -> None:
        self.redis = redis
        self.appid = appid
        self.lock_ttl_ms = lock_ttl_ms
        self.failure_ttl_ms = failure_ttl_ms
        self._expire_script = redis.register_script(_EXPIRE_IF_SAME)

    def read(self, kind: str) -> Entry | None:
        return _parse_entry(self.redis.hgetall(keys.credential(self.appid, kind)))

    def read_with_failure(self, kind: str) -> tuple[Entry | None, WeChatError | None]:
        pipe = self.redis.pipeline(transaction=False)
        pipe.hgetall(keys.credential(self.appid, kind))
        pipe.get(keys.credential_failure(self.appid, kind))
        raw, failure = pipe.execute()
        return _parse_entry(raw), _parse_failure(failure)

    def write(self, kind: str, entry: Entry, ttl: int) -> None:
        pipe = self.redis.pipeline(transaction=True)
        key = keys.credential(self.appid, kind)
        pipe.delete(key)
        pipe.hset(key, mapping={"value": entry.value, "expires_at": entry.expires_at,
                                "refresh_at": entry.refresh_at})
        pipe.expire(key, ttl)
        pipe.execute()

    def record_failure(self, kind: str, e: WeChatError) -> None:
        doc = {"errcode": e.errcode, "errmsg": e.errmsg, "path": e.path,
               "reason": getattr(e, "reason", None)}
        try:
            self.redis.set(keys.credential_failure(self.appid, kind), json.dumps(doc),
                           px=self.failure_ttl_ms)
        except REDIS_DOWN:
            pass

    def lock(self, kind: str) -> Lock | None:
        """Take the refresh lock (a redis-py ``Lock``, not waited for: the caller reads the
        value between tries), or None when another process holds it."""
        lock = self.redis.lock(keys.credential_lock(self.appid, kind),
                               timeout=self.lock_ttl_ms / 1000)
        return lock if lock.acquire(blocking=False) else None

    def release(self, kind: str, lock: Lock) -> None:
        """Release the refresh lock only while we still hold it (never another's)."""
        try:
            lock.release()
        except (LockError, *REDIS_DOWN):
            pass  # lapsed, or Redis is away: the lock expires by itself

    def expire(self, kind: str, failed: str) -> None:
        """Delete the stored value only if it is still ``failed``."""
        self._expire_script(keys=[keys.credential(self.appid, kind)], args=[failed])


def _text(v: Any) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


def _parse_entry(raw: dict) -> Entry | None:
    if not raw:
        return None
    d = {_text(k): _text(v) for k, v in raw.items()}
    try:
        return Entry(d["value"], float(d["expires_at"]), float(d["refresh_at"]))
    except (KeyError, ValueError):
        return None


def _parse_failure(raw: Any) -> WeChatError | None:
    if not raw:
        return None
    try:
        d = json.loads(_text(raw))
        if d.get("reason"):
            return WeChatUnavailable(d["reason"], d["path"])
        return error_for(int(d["errcode"]), d["errmsg"], d["path"])
    except (ValueError, KeyError, TypeError):
        return None
