"""access_token and api_tickets: an in-process cache in front of Redis, one refresher per appid.

Reads cost nothing on the hot path (a dict lookup). Past the short local TTL a process reads
Redis; when the value is missing or expired, exactly one process (a Redis lock) asks WeChat and
the others poll Redis for its answer. Compare-and-expire drops a token only if it is the one that
failed, so a late 40001 never throws away a token another process has just fetched. The Redis
side (entries, lock, failure records) is ``bff.ground.wechat.credential_store``; this module decides
when to read, refresh, wait or do without Redis.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import redis as redislib

from bff.ground.metrics import CREDENTIAL_REFRESHES, LOCK_WAITS
from bff.ground.wechat.credential_source import WeChatCredentialSource
from bff.ground.wechat.credential_store import REDIS_DOWN, CredentialStore, Entry
from bff.ground.wechat.errors import TokenInvalid, WeChatError, WeChatUnavailable

log = logging.getLogger("bff.ground.wechat.credentials")

ACCESS_TOKEN = "access_token"
TICKET_KINDS = ("wx_card", "jsapi")


class CredentialStoreUnavailable(Exception):
    """Redis is unreachable and no usable credential is at hand; the app answers 503."""


class Credentials:
    """The access_token and tickets of one appid, shared by every process through Redis."""

    def __init__(
        self,
        redis: redislib.Redis,
        source: WeChatCredentialSource,
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
        self.store = CredentialStore(redis, source.appid, lock_ttl_ms=lock_ttl_ms,
                                     failure_ttl_ms=failure_ttl_ms)
        self.source = source
        # Short, so a token another instance replaced (classic mode: 5-minute overlap) or
        # expired after a 40001 stops being used here soon.
        self.local_ttl = local_ttl
        self.refresh_margin = refresh_margin
        self.wait_timeout = wait_timeout
        self.poll_interval = poll_interval
        self.direct_fetch_interval = direct_fetch_interval
        self.clock = clock
        self._local: dict[str, Entry] = {}
        self._kind_locks = {k: threading.Lock() for k in _kinds()}
        self._direct_fetch_at: dict[str, float] = {}
        self._redis_down_until = 0.0

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
            except REDIS_DOWN:
                # Skip Redis for a second so an outage costs one failed connect, not one each.
                self._redis_down_until = time.monotonic() + 1.0
                log.warning("credential store unreachable kind=%s", kind)
                return self._without_redis(kind, entry)
        finally:
            lock.release()

    def _load(self, kind: str, now: float) -> str:
        entry = self.store.read(kind)
        if entry is None or now >= entry.expires_at:
            entry = self._refresh_or_wait(kind)
        elif now >= entry.refresh_at:
            entry = self._refresh_ahead(kind, entry)
        self._remember(kind, entry)
        return entry.value

    def _refresh_ahead(self, kind: str, current: Entry) -> Entry:
        """Refresh a still-valid value if no one else is; otherwise keep using it."""
        owner = self.store.lock(kind)
        if owner is None:
            return current
        try:
            fresh, failure = self.store.read_with_failure(kind)
            if fresh is not None and fresh.refresh_at > current.refresh_at:
                return fresh  # someone refreshed between our two reads
            if failure is not None:
                return current  # a refresh failed moments ago; the old value is still good
            return self._fetch_and_store(kind)
        except WeChatError as e:
            log.warning("early refresh failed kind=%s errcode=%s", kind, e.errcode)
            return current
        finally:
            self.store.release(kind, owner)

    def _refresh_or_wait(self, kind: str) -> Entry:
        """Nothing valid in Redis: take the lock and fetch, or wait for whoever holds it."""
        deadline = time.monotonic() + self.wait_timeout
        waited = False
        while True:
            owner = self.store.lock(kind)
            if owner is not None:
                try:
                    entry, failure = self.store.read_with_failure(kind)
                    if entry is not None and self.clock() < entry.expires_at:
                        return entry  # second look: the previous holder stored it
                    if failure is not None:
                        raise failure  # it failed moments ago: don't ask WeChat again yet
                    return self._fetch_and_store(kind)
                finally:
                    self.store.release(kind, owner)
            if not waited:
                LOCK_WAITS.labels(_metric_kind(kind)).inc()
                waited = True
            time.sleep(self.poll_interval)
            entry, failure = self.store.read_with_failure(kind)
            if entry is not None and self.clock() < entry.expires_at:
                return entry
            if failure is not None:
                raise failure
            if time.monotonic() >= deadline:
                raise WeChatUnavailable("timeout", self.source.path_for(kind))

    def _fetch_and_store(self, kind: str) -> Entry:
        try:
            value, expires_in = self._fetch(kind)
        except WeChatError as e:
            self.store.record_failure(kind, e)
            raise
        CREDENTIAL_REFRESHES.labels(_metric_kind(kind)).inc()
        entry = self._entry(value, expires_in)
        ttl = max(1, int(entry.expires_at - self.clock()))
        try:
            self.store.write(kind, entry, ttl)
        except REDIS_DOWN:
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

    def _without_redis(self, kind: str, entry: Entry | None) -> str:
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

    # -- local helpers --------------------------------------------------------------------

    def _entry(self, value: str, expires_in: int) -> Entry:
        now = self.clock()
        lifetime = max(60, int(expires_in) - 300)
        return Entry(value, now + lifetime, now + max(30.0, lifetime - self.refresh_margin))

    def _remember(self, kind: str, entry: Entry) -> None:
        now = self.clock()
        # Past refresh_at, look at Redis again at most once a second for the refreshed value.
        local_until = min(entry.expires_at, max(entry.refresh_at, now + 1.0), now + self.local_ttl)
        self._local[kind] = Entry(entry.value, entry.expires_at, entry.refresh_at, local_until)

    def _expire(self, kind: str, failed: str) -> None:
        entry = self._local.get(kind)
        if entry is not None and entry.value == failed:
            self._local.pop(kind, None)
        try:
            self.store.expire(kind, failed)
        except REDIS_DOWN:
            log.warning("credential store unreachable on expire kind=%s", kind)


def _kinds() -> list[str]:
    return [ACCESS_TOKEN] + [f"ticket:{t}" for t in TICKET_KINDS]


def _metric_kind(kind: str) -> str:
    return kind.replace(":", "_")

