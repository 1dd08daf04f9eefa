"""access_token and api_tickets: an in-process cache in front of Redis, one refresher per appid.

Reads cost nothing on the hot path (a dict lookup). Past the short local TTL a process reads
Redis; when the value is missing or expired, exactly one process (a Redis lock) asks WeChat and
the others poll Redis for its answer. Compare-and-expire drops a token only if it is the one that
failed, so a late 40001 never throws away a token another process has just fetched.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis as redislib

from bff.metrics import CREDENTIAL_REFRESHES, LOCK_WAITS
from bff.store import keys
from bff.wechat.credential_source import CredentialSource
from bff.wechat.errors import TokenInvalid, WeChatError, WeChatUnavailable, error_for

log = logging.getLogger("bff.wechat.credentials")

ACCESS_TOKEN = "access_token"
TICKET_KINDS = ("wx_card", "jsapi")
_REDIS_DOWN = (redislib.ConnectionError, redislib.TimeoutError)

# KEYS[1] = credential hash, ARGV[1] = the value that failed. Deletes only that value.
_EXPIRE_IF_SAME = """
if redis.call('HGET', KEYS[1], 'value') == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
# KEYS[1] = lock key, ARGV[1] = our owner token. Releases only a lock we still hold.
_RELEASE_LOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class CredentialStoreUnavailable(Exception):
    """Redis is unreachable and no usable credential is at hand; the app answers 503."""


@dataclass(frozen=True)
class _Entry:
    value: str
    expires_at: float  # epoch seconds; never serve after this
    refresh_at: float  # epoch seconds; one process refreshes from here on
    local_until: float = 0.0  # epoch seconds; re-read Redis after this


class Credentials:
    """The access_token and tickets of one appid, shared by every process through Redis."""

    def __init__(
        self,
        redis: redislib.Redis,
        source: CredentialSource,
        *,
        local_ttl: float = 60.0,
        refresh_margin: float = 300.0,
        lock_ttl_ms: int = 10_000,
        wait_timeout: float = 5.0,
        poll_interval: float = 0.025,
        failure_ttl_ms: int = 3_000,
        direct_fetch_interval: float = 5.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.redis = redis
        self.source = source
        self.appid = source.appid
        # Short, so a token another instance replaced (classic mode: 5-minute overlap) or
        # expired after a 40001 stops being used here soon.
        self.local_ttl = local_ttl
        self.refresh_margin = refresh_margin
        self.lock_ttl_ms = lock_ttl_ms
        self.wait_timeout = wait_timeout
        self.poll_interval = poll_interval
        self.failure_ttl_ms = failure_ttl_ms
        self.direct_fetch_interval = direct_fetch_interval
        self.clock = clock
        self._local: dict[str, _Entry] = {}
        self._kind_locks = {k: threading.Lock() for k in _kinds()}
        self._direct_fetch_at: dict[str, float] = {}
        self._redis_down_until = 0.0
        self._lua = True
        self._expire_script = redis.register_script(_EXPIRE_IF_SAME)
        self._release_script = redis.register_script(_RELEASE_LOCK)

    # -- public ---------------------------------------------------------------------------

    def access_token(self) -> str:
        return self._get(ACCESS_TOKEN)

    def ticket(self, kind: str) -> str:
        """The ``wx_card`` (card signatures) or ``jsapi`` (wx.config) ticket."""
        if kind not in TICKET_KINDS:
            raise ValueError(f"unknown ticket type {kind!r}")
        return self._get(f"ticket:{kind}")

    def expire_access_token(self, failed: str) -> None:
        self._expire(ACCESS_TOKEN, failed)

    # -- reading --------------------------------------------------------------------------

    def _get(self, kind: str) -> str:
        entry = self._local.get(kind)
        if entry is not None and self.clock() < entry.local_until:
            return entry.value  # the hot path: no lock, no Redis
        lock = self._kind_locks[kind]
        # One thread per process goes to Redis; the others then find the local copy.
        if not lock.acquire(timeout=self.wait_timeout * 2 + 1):
            raise WeChatUnavailable("timeout", self.source.path_for(kind))
        try:
            entry = self._local.get(kind)
            now = self.clock()
            if entry is not None and now < entry.local_until:
                return entry.value
            if time.monotonic() < self._redis_down_until:
                return self._without_redis(kind, entry)
            try:
                return self._load(kind, now)
            except _REDIS_DOWN:
                # Skip Redis for a second so an outage costs one failed connect, not one each.
                self._redis_down_until = time.monotonic() + 1.0
                log.warning("credential store unreachable kind=%s", kind)
                return self._without_redis(kind, entry)
        finally:
            lock.release()

    def _load(self, kind: str, now: float) -> str:
        entry = self._read(kind)
        if entry is None or now >= entry.expires_at:
            entry = self._refresh_or_wait(kind)
        elif now >= entry.refresh_at:
            entry = self._refresh_ahead(kind, entry)
        self._remember(kind, entry)
        return entry.value

    def _refresh_ahead(self, kind: str, current: _Entry) -> _Entry:
        """Refresh a still-valid value if no one else is; otherwise keep using it."""
        owner = secrets.token_hex(16)
        if not self.redis.set(keys.credential_lock(self.appid, kind), owner, nx=True,
                              px=self.lock_ttl_ms):
            return current
        try:
            fresh, failure = self._read_with_failure(kind)
            if fresh is not None and fresh.refresh_at > current.refresh_at:
                return fresh  # someone refreshed between our two reads
            if failure is not None:
                return current  # a refresh failed moments ago; the old value is still good
            return self._fetch_and_store(kind)
        except WeChatError as e:
            log.warning("early refresh failed kind=%s errcode=%s", kind, e.errcode)
            return current
        finally:
            self._release(kind, owner)

    def _refresh_or_wait(self, kind: str) -> _Entry:
        """Nothing valid in Redis: take the lock and fetch, or wait for whoever holds it."""
        owner = secrets.token_hex(16)
        lock_key = keys.credential_lock(self.appid, kind)
        deadline = time.monotonic() + self.wait_timeout
        waited = False
        while True:
            if self.redis.set(lock_key, owner, nx=True, px=self.lock_ttl_ms):
                try:
                    entry, failure = self._read_with_failure(kind)
                    if entry is not None and self.clock() < entry.expires_at:
                        return entry  # second look: the previous holder stored it
                    if failure is not None:
                        raise failure  # it failed moments ago: don't ask WeChat again yet
                    return self._fetch_and_store(kind)
                finally:
                    self._release(kind, owner)
            if not waited:
                LOCK_WAITS.labels(_metric_kind(kind)).inc()
                waited = True
            time.sleep(self.poll_interval)
            entry, failure = self._read_with_failure(kind)
            if entry is not None and self.clock() < entry.expires_at:
                return entry
            if failure is not None:
                raise failure
            if time.monotonic() >= deadline:
                raise WeChatUnavailable("timeout", self.source.path_for(kind))

    def _fetch_and_store(self, kind: str) -> _Entry:
        try:
            value, expires_in = self._fetch(kind)
        except WeChatError as e:
            self._record_failure(kind, e)
            raise
        CREDENTIAL_REFRESHES.labels(_metric_kind(kind)).inc()
        entry = self._entry(value, expires_in)
        ttl = max(1, int(entry.expires_at - self.clock()))
        try:
            pipe = self.redis.pipeline(transaction=True)
            key = keys.credential(self.appid, kind)
            pipe.delete(key)
            pipe.hset(key, mapping={"value": value, "expires_at": entry.expires_at,
                                    "refresh_at": entry.refresh_at})
            pipe.expire(key, ttl)
            pipe.execute()
        except _REDIS_DOWN:
            log.warning("credential fetched but not stored kind=%s", kind)
            self._remember(kind, entry)
        return entry

    def _fetch(self, kind: str) -> tuple[str, int]:
        if kind == ACCESS_TOKEN:
            return self.source.fetch_access_token()
        ticket_type = kind.split(":", 1)[1]
        # Two rounds at most: the second only after getticket rejected the token.
        for round_ in range(2):
            token = self.access_token()
            try:
                return self.source.fetch_ticket(ticket_type, token)
            except TokenInvalid:
                if round_ == 1:
                    raise
                self.expire_access_token(token)
        raise AssertionError("unreachable")

    def _without_redis(self, kind: str, entry: _Entry | None) -> str:
        """Redis is down: serve what we hold, else fetch directly, rarely."""
        now = self.clock()
        if entry is not None and now < entry.expires_at:
            return entry.value
        if not self.source.refetch_is_harmless:
            # Classic tokens: a direct fetch here would invalidate every other instance's token.
            raise CredentialStoreUnavailable("credential store unreachable")
        last = self._direct_fetch_at.get(kind)
        if last is not None and time.monotonic() - last < self.direct_fetch_interval:
            raise CredentialStoreUnavailable("credential store unreachable")
        self._direct_fetch_at[kind] = time.monotonic()
        value, expires_in = self._fetch(kind)
        CREDENTIAL_REFRESHES.labels(_metric_kind(kind)).inc()
        entry = self._entry(value, expires_in)
        self._remember(kind, entry)
        return entry.value

    # -- Redis and local helpers ----------------------------------------------------------

    def _entry(self, value: str, expires_in: int) -> _Entry:
        now = self.clock()
        lifetime = max(60, int(expires_in) - 300)
        return _Entry(value, now + lifetime, now + max(30.0, lifetime - self.refresh_margin))

    def _remember(self, kind: str, entry: _Entry) -> None:
        now = self.clock()
        # Past refresh_at, look at Redis again at most once a second for the refreshed value.
        local_until = min(entry.expires_at, max(entry.refresh_at, now + 1.0), now + self.local_ttl)
        self._local[kind] = _Entry(entry.value, entry.expires_at, entry.refresh_at, local_until)

    def _read(self, kind: str) -> _Entry | None:
        return _parse_entry(self.redis.hgetall(keys.credential(self.appid, kind)))

    def _read_with_failure(self, kind: str) -> tuple[_Entry | None, WeChatError | None]:
        pipe = self.redis.pipeline(transaction=False)
        pipe.hgetall(keys.credential(self.appid, kind))
        pipe.get(keys.credential_failure(self.appid, kind))
        raw, failure = pipe.execute()
        return _parse_entry(raw), _parse_failure(failure)

    def _record_failure(self, kind: str, e: WeChatError) -> None:
        doc = {"errcode": e.errcode, "errmsg": e.errmsg, "path": e.path,
               "reason": getattr(e, "reason", None)}
        try:
            self.redis.set(keys.credential_failure(self.appid, kind), json.dumps(doc),
                           px=self.failure_ttl_ms)
        except _REDIS_DOWN:
            pass

    def _release(self, kind: str, owner: str) -> None:
        key = keys.credential_lock(self.appid, kind)
        try:
            self._compare_and_delete(self._release_script, key, owner,
                                     lambda pipe: pipe.get(key))
        except _REDIS_DOWN:
            pass  # the lock expires by itself

    def _expire(self, kind: str, failed: str) -> None:
        entry = self._local.get(kind)
        if entry is not None and entry.value == failed:
            self._local.pop(kind, None)
        key = keys.credential(self.appid, kind)
        try:
            self._compare_and_delete(self._expire_script, key, failed,
                                     lambda pipe: pipe.hget(key, "value"))
        except _REDIS_DOWN:
            log.warning("credential store unreachable on expire kind=%s", kind)

    def _compare_and_delete(self, script: Any, key: str, expected: str, read: Any) -> None:
        if self._lua:
            try:
                script(keys=[key], args=[expected])
                return
            except redislib.ResponseError:
                # The embedded store of sandbox mode (fakeredis without lupa) has no Lua.
                self._lua = False

        def swap(pipe: Any) -> None:
            if _text(read(pipe) or "") == expected:
                pipe.multi()
                pipe.delete(key)

        self.redis.transaction(swap, key)


def _kinds() -> list[str]:
    return [ACCESS_TOKEN] + [f"ticket:{t}" for t in TICKET_KINDS]


def _metric_kind(kind: str) -> str:
    return kind.replace(":", "_")


def _text(v: Any) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


def _parse_entry(raw: dict) -> _Entry | None:
    if not raw:
        return None
    d = {_text(k): _text(v) for k, v in raw.items()}
    try:
        return _Entry(d["value"], float(d["expires_at"]), float(d["refresh_at"]))
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
