"""A small bounded cache in process memory whose reads take no lock (the add-card hot path).

cachetools' ``TTLCache`` is not thread-safe, so every read held a lock (a gevent lock under the
Procfile's worker) around a read that also entered its timer's context manager: ~2-3 us per
lookup, several lookups per add-card. Here a read is one ``dict.get`` (atomic under the GIL)
and an age check; writes hold the lock. Entries older than ``ttl`` are never returned; at
``maxsize`` a write first drops the expired entries, then the oldest-stored half.
"""

from __future__ import annotations

import threading
import time
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class StampedCache(Generic[K, V]):
    def __init__(self, maxsize: int, ttl: float) -> None:
        self.maxsize, self.ttl = maxsize, ttl
        self._entries: dict[K, tuple[V, float]] = {}
        self._lock = threading.Lock()

    def get(self, key: K, now: float | None = None) -> V | None:
        """The value stored less than ``ttl`` seconds before ``now`` (monotonic), else None."""
        hit = self._entries.get(key)
        if hit is None:
            return None
        if (time.monotonic() if now is None else now) - hit[1] < self.ttl:
            return hit[0]
        return None

    def get_or_claim(self, key: K, now: float) -> V | None:
        """As ``get``, except for an entry that has just gone stale: the first caller to find it
        so gets None (it fetches the value and ``set``s it) and the entry is stamped afresh, so
        that the other callers keep the stale value meanwhile instead of all fetching it at
        once (a stampede every ``ttl`` seconds: issue 18's add-card p99)."""
        hit = self._entries.get(key)
        if hit is None:
            return None
        if now - hit[1] < self.ttl:
            return hit[0]
        with self._lock:
            current = self._entries.get(key)
            if current is hit:  # nobody refreshed or claimed it since: this caller does
                self._entries[key] = (hit[0], now)
                return None
        return hit[0] if current is None else current[0]

    def set(self, key: K, value: V, now: float | None = None) -> None:
        stamp = time.monotonic() if now is None else now
        with self._lock:
            entries = self._entries
            if key not in entries and len(entries) >= self.maxsize:
                self._make_room(stamp)
            entries[key] = (value, stamp)

    def _make_room(self, now: float) -> None:
        entries = self._entries
        for key in [k for k, (_, at) in entries.items() if now - at >= self.ttl]:
            del entries[key]
        if len(entries) >= self.maxsize:  # insertion order: the oldest stored first
            for key in list(entries)[: max(1, len(entries) // 2)]:
                del entries[key]

    def pop(self, key: K) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
