"""bff.ground.local_cache.StampedCache: never an entry past its ttl, never past maxsize."""

from __future__ import annotations

from bff.ground.local_cache import StampedCache


def test_an_entry_lives_ttl_seconds():
    c: StampedCache[str, int] = StampedCache(maxsize=10, ttl=3)
    c.set("a", 1, now=100.0)
    assert c.get("a", 102.9) == 1
    assert c.get("a", 103.0) is None and c.get("b", 100.0) is None
    c.pop("a")
    assert c.get("a", 100.0) is None


def test_full_drops_the_expired_then_the_oldest():
    c: StampedCache[int, int] = StampedCache(maxsize=4, ttl=10)
    for i in range(4):
        c.set(i, i, now=float(i))
    c.set(4, 4, now=10.5)  # 0 expired: only it goes
    assert len(c) == 4 and c.get(0, 10.5) is None and c.get(1, 10.5) == 1
    c.set(5, 5, now=10.6)  # none expired: the oldest half goes
    assert len(c) <= 4 and c.get(5, 10.6) == 5 and c.get(1, 10.6) is None
    c.set(5, 6, now=10.7)  # an update never evicts
    assert c.get(5, 10.7) == 6
    for i in range(100):
        c.set(100 + i, i, now=11.0)
        assert len(c) <= 4
    c.clear()
    assert len(c) == 0


def test_a_stale_entry_is_fetched_by_one_caller_while_the_others_keep_it():
    c: StampedCache[str, int] = StampedCache(maxsize=10, ttl=3)
    c.set("k", 1, now=0)
    assert c.get_or_claim("k", now=2) == 1  # fresh
    assert c.get_or_claim("k", now=5) is None  # stale: this caller fetches
    assert c.get_or_claim("k", now=5.1) == 1  # the others keep the stale value meanwhile
    c.set("k", 2, now=5.2)
    assert c.get_or_claim("k", now=6) == 2
    assert c.get_or_claim("missing", now=6) is None
    assert c.get("k", now=9) is None  # get itself never returns a stale value
