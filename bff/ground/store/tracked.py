"""A per-process cache of records that Redis itself invalidates (``BFF_SESSION_CACHE``): the
session records and the identity links every authenticated request reads.

Redis client-side caching, broadcast mode (Redis >= 6, RESP2 or RESP3): one connection per
process runs ``CLIENT TRACKING ON REDIRECT <its own id> BCAST PREFIX <prefix>...`` and
subscribes to ``__redis__:invalidate``. From then on the server sends it the name of every key
under those prefixes that anyone changes, deletes or expires. Before every cache hit the
pending invalidations on that connection are read (a non-blocking poll): a revocation, or an
operator's removal of a link, on any instance reaches this one as soon as the server's message
does, in the time the revoking request's own answer takes to travel.

Safety rules:
- an entry is stored only if no invalidation of its key arrived while it was being read, and
  the cache was not emptied meanwhile (``begin`` and ``keep``); a read that took longer than
  ``HORIZON`` is answered but not kept (the invalidations older than that are forgotten);
- when the invalidation connection fails, the cache is emptied and bypassed until it is back;
- a connection that a middlebox dropped without a word (a NAT's idle timeout) looks quiet
  forever: in use, it is asked (PING) every ``ping_every`` seconds, and one that has not
  answered within ``answer_within`` is given up the same way, so a revocation or a removed link
  is served for at most about 1.5 s then (review 5);
- an entry lives at most ``max_age`` seconds, and one its caller no longer finds ``fresh`` (a
  session past ``expires_at``) is never served.

(redis-py's own client-side cache, ``cache_config`` with RESP3, refuses servers older than 7.4;
this one works on any Redis the service supports. It is off on the embedded store and on a
cluster.)
"""

from __future__ import annotations

import logging
import select
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import redis

log = logging.getLogger(__name__)

try:  # the system's select even when gevent patched the module
    from gevent.monkey import get_original

    _select = get_original("select", "select")
except ImportError:  # pragma: no cover - gevent is a dependency
    _select = select.select

CHANNEL = "__redis__:invalidate"
PING_EVERY = 0.5  # seconds of use between two checks that the connection still answers
ANSWER_WITHIN = 1.0  # seconds a check may wait for its answer before the connection is dropped
RETRY_SECONDS = 1.0  # first retry after a failed connection; doubles up to MAX_RETRY_SECONDS
MAX_RETRY_SECONDS = 60.0
HORIZON = 10.0  # seconds a read may take and still be kept; invalidations are remembered as long


_MISS = object()


class Reading:
    """A read through the cache, begun (``TrackedCache.begin``): the values found in memory,
    the keys to read from Redis (``missing``), and what ``keep`` needs to know whether a value
    read may be kept. A reading that is never finished holds nothing of the cache's."""

    __slots__ = ("keys", "found", "missing", "fresh", "started", "epoch", "seq")

    def __init__(self, keys: list[str], found: dict[str, Any], missing: list[str],
                 fresh: Callable[[Any], bool], started: float, epoch: int | None,
                 seq: int) -> None:
        self.keys, self.found, self.missing, self.fresh = keys, found, missing, fresh
        self.started, self.epoch, self.seq = started, epoch, seq

    def values(self, read: list[Any]) -> list[Any]:
        """The values of ``keys`` in their order: those found, and ``read`` (of ``missing``)."""
        if not self.missing:
            return [self.found[key] for key in self.keys]
        by_key = dict(zip(self.missing, read, strict=True))
        return [self.found[key] if key in self.found else by_key[key] for key in self.keys]


class TrackedCache:
    """Values read from keys under ``prefixes``, each dropped when Redis says its key changed."""

    def __init__(self, r: redis.Redis, prefixes: tuple[str, ...], *,
                 max_entries: int = 10_000, max_age: float = 60.0,
                 ping_every: float = PING_EVERY, answer_within: float = ANSWER_WITHIN) -> None:
        self.r = r
        self.prefixes = prefixes
        self.max_entries = max_entries
        self.max_age = max_age
        self.ping_every, self.answer_within = ping_every, answer_within
        self._asked_at: float | None = None  # when the PING awaiting its answer was sent
        self._pinged_at = 0.0
        self._entries: dict[str, tuple[Any, float]] = {}
        # The invalidations of the last HORIZON seconds: each numbered (_seq), the last number
        # of each key (_changed), and in order of arrival for forgetting them (_changes). A
        # value read is kept only if its own key's last number is older than the read (keep).
        self._seq = 0
        self._changed: dict[str, int] = {}
        self._changes: deque[tuple[float, str, int]] = deque()
        self._lock = threading.Lock()
        self._conn: Any = None
        self._epoch = 0
        self._retry_at = 0.0
        self._backoff = RETRY_SECONDS
        self.hits = self.misses = 0

    # -- the invalidation connection ---------------------------------------------------------

    def _connect(self) -> None:
        pool = self.r.connection_pool
        # RESP2: invalidations arrive as plain pub/sub messages on the redirect connection. No
        # redis-py health check: it PINGs a connection idle for its interval and cannot read a
        # subscribed connection's pub/sub pong (the cache went off after every quiet spell);
        # the cache sends its own PINGs (_check_alive).
        conn = pool.connection_class(**{**pool.connection_kwargs, "protocol": 2,
                                        "health_check_interval": 0})
        try:
            conn.connect()
            conn.send_command("CLIENT", "ID")
            client_id = conn.read_response()
            conn.send_command("CLIENT", "TRACKING", "ON", "REDIRECT", client_id, "BCAST",
                              *(x for p in self.prefixes for x in ("PREFIX", p)))
            conn.read_response()
            conn.send_command("SUBSCRIBE", CHANNEL)
            conn.read_response()
        except (redis.RedisError, OSError) as e:  # e.g. a proxy without CLIENT TRACKING
            conn.disconnect()
            self._retry_at = time.monotonic() + self._backoff
            log.warning("tracked cache off for %.0f s: no invalidation connection (%s)",
                        self._backoff, type(e).__name__)
            self._backoff = min(MAX_RETRY_SECONDS, self._backoff * 2)
            return
        self._backoff = RETRY_SECONDS
        self._conn = conn
        self._asked_at, self._pinged_at = None, time.monotonic()
        self._entries.clear()
        self._epoch += 1

    def _fail(self, e: BaseException) -> None:
        log.warning("tracked cache off: invalidation connection lost (%s)", type(e).__name__)
        try:
            self._conn.disconnect()
        except Exception:  # noqa: BLE001 - already broken
            pass
        self._conn = None
        self._entries.clear()
        self._epoch += 1
        self._retry_at = time.monotonic() + RETRY_SECONDS

    def _drain(self) -> bool:
        """Apply every invalidation that has arrived; False when the cache cannot be trusted."""
        if self._conn is None:
            if time.monotonic() < self._retry_at:
                return False
            self._connect()
            if self._conn is None:
                return False
        try:
            sock = self._conn._sock
            if sock is None:
                # closed under us (redis-py closes a connection whose read was interrupted):
                # reading would reconnect it without its tracking
                raise redis.ConnectionError("the invalidation connection was closed")
            if self._maybe_pending(sock):
                while self._conn.can_read(timeout=0):
                    self._apply(self._conn.read_response())
            self._check_alive()
        except (redis.RedisError, OSError, ValueError) as e:
            self._fail(e)
            return False
        return True

    def _check_alive(self) -> None:
        """Ask the connection whether it is still there, every ``ping_every`` seconds of use;
        raise when the last question went unanswered for ``answer_within`` seconds."""
        now = time.monotonic()
        if self._asked_at is not None:
            if now - self._asked_at > self.answer_within:
                raise redis.ConnectionError("the invalidation connection does not answer")
        elif now - self._pinged_at >= self.ping_every:
            self._conn.send_command("PING")  # in subscribed mode: answered ["pong", ""]
            self._asked_at = self._pinged_at = now

    @staticmethod
    def _maybe_pending(sock: Any) -> bool:
        """One zero-timeout select(2) on the socket: has anything arrived (or did it close)?

        A drain leaves no complete message in the parser's buffer, so a quiet socket means
        nothing new. The system's select is used even under gevent (one system call instead of
        gevent's poll emulation; a zero timeout never blocks).
        """
        try:
            readable, _, _ = _select([sock.fileno()], [], [], 0)
        except (OSError, ValueError):
            return True  # broken: the drain reports it
        return bool(readable)

    def _apply(self, message: Any) -> None:
        if isinstance(message, list) and message and message[0] in ("pong", b"pong"):
            self._asked_at = None
            return
        if not isinstance(message, list) or len(message) < 3 or message[0] != "message":
            return
        names = message[2]
        if names is None:  # FLUSHALL / FLUSHDB: everything
            self._epoch += 1
            self._entries.clear()
            return
        now = time.monotonic()
        changes = self._changes
        for name in names if isinstance(names, list) else [names]:
            key = name.decode() if isinstance(name, bytes) else name
            self._entries.pop(key, None)
            self._seq += 1
            self._changed[key] = self._seq
            changes.append((now, key, self._seq))
        while changes and now - changes[0][0] > HORIZON:  # no read that old is kept
            _, key, seq = changes.popleft()
            if self._changed.get(key) == seq:
                del self._changed[key]

    # -- the cache ---------------------------------------------------------------------------

    def load(self, key: str, loader: Callable[[], Any], *,
             fresh: Callable[[Any], bool] = bool) -> Any:
        """The value of Redis key ``key``: from the cache when valid, else ``loader()``. A value
        is kept, and served, only while ``fresh(value)`` holds (by default: a found value; what
        ``loader`` did not find is read again next time)."""
        return self.load_many([key], lambda missing: [loader()], fresh=fresh)[0]

    def peek(self, key: str, *, fresh: Callable[[Any], bool] = bool) -> Any:
        """The value of ``key`` when validly cached (as ``load`` would serve it), else None;
        nothing is read from Redis."""
        with self._lock:
            if not self._drain():
                return None
            value = self._served(key, time.monotonic(), fresh)
        return None if value is _MISS else value

    def _served(self, key: str, now: float, fresh: Callable[[Any], bool]) -> Any:
        """The cached value of ``key`` while valid (counted a hit), else ``_MISS`` (a stale
        entry is dropped). Under the lock, the cache trusted."""
        cached = self._entries.get(key)
        if cached is None:
            return _MISS
        value, stored_at = cached
        if now - stored_at < self.max_age and fresh(value):
            self.hits += 1
            return value
        del self._entries[key]
        return _MISS

    def load_many(self, keys: list[str], loader: Callable[[list[str]], list[Any]], *,
                  fresh: Callable[[Any], bool] = bool) -> list[Any]:
        """``load`` for several keys: the values of those not validly cached are read by one
        call, ``loader(missing keys)`` (one round trip), in the order given. Each value must
        come from its own key alone (see ``keep``)."""
        reading = self.begin(keys, fresh=fresh)
        if not reading.missing:
            return reading.values([])
        read = loader(reading.missing)
        self.keep(reading, read)
        return reading.values(read)

    def begin(self, keys: list[str], *, fresh: Callable[[Any], bool] = bool) -> Reading:
        """A read of ``keys`` begun: those validly cached are found (hits), the others are
        ``missing``, for the caller to read from Redis in a round trip of its choosing (one it
        makes anyway: ``bff.ground.store.coalesce.ahead``) and give to ``keep``."""
        started = time.monotonic()
        found: dict[str, Any] = {}
        with self._lock:
            trusted = self._drain()
            if trusted:
                for key in keys:
                    value = self._served(key, started, fresh)
                    if value is not _MISS:
                        found[key] = value
            missing = [key for key in keys if key not in found] if found else keys
            reading = Reading(keys, found, missing, fresh, started,
                              self._epoch if trusted else None, self._seq)
        self.misses += len(missing)
        return reading

    def keep(self, reading: Reading, read: list[Any]) -> None:
        """Keep the values ``read`` from Redis for ``reading.missing``, each unless its key was
        invalidated after the read began (it may have seen the value before the change), the
        cache was emptied meanwhile, or the read took longer than ``HORIZON``. An invalidation
        of another key does not stop a value being kept: under a busy worker's writes (a
        user's first decrypt links openids), one epoch for every key kept about half of what
        was read (issue 18)."""
        if reading.epoch is None or not reading.missing:
            return
        with self._lock:
            if not self._drain() or self._epoch != reading.epoch \
                    or time.monotonic() - reading.started > HORIZON:
                return
            changed, seq, fresh = self._changed, reading.seq, reading.fresh
            for key, value in zip(reading.missing, read, strict=True):
                if changed.get(key, 0) <= seq and fresh(value):
                    if len(self._entries) >= self.max_entries:
                        self._entries.clear()
                    self._entries[key] = (value, reading.started)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.disconnect()
                self._conn = None
            self._entries.clear()


def usable(r: Any) -> bool:
    """Only a plain redis-py client to a real server (not fakeredis, not a cluster client)."""
    return type(r) is redis.Redis
