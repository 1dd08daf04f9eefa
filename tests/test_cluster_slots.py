"""Every script and transaction stays in one hash slot, and the guard that says so
works (on one server through tests/slot_guard.py; on a cluster the client refuses too)."""

from __future__ import annotations

import pytest
import redis
from redis.crc import key_slot
from redis.exceptions import RedisClusterException

from bff.ground.store import connect, is_cluster_url, keys
from tests.slot_guard import CrossSlot

# Two keys in different slots, and two that share a hash tag.
A, B = "bff:slot-test:a", "bff:slot-test:b"
TAGGED = ["bff:{slot-test}:a", "bff:{slot-test}:b"]
CROSS = (CrossSlot, RedisClusterException, redis.ResponseError)


def test_the_two_keys_are_in_different_slots() -> None:
    assert key_slot(A.encode()) != key_slot(B.encode())
    assert len({key_slot(k.encode()) for k in TAGGED}) == 1


def test_a_script_given_keys_of_two_slots_fails(redis_client) -> None:
    with pytest.raises(CROSS):
        redis_client.eval("return 1", 2, A, B)
    script = redis_client.register_script("return redis.call('GET', KEYS[1])")
    with pytest.raises(CROSS):
        script(keys=[A, B])
    assert redis_client.eval("return #KEYS", 2, *TAGGED) == 2


def test_a_transaction_over_two_slots_fails(redis_client) -> None:
    pipe = redis_client.pipeline(transaction=True)
    pipe.set(A, "1")
    pipe.set(B, "1")
    with pytest.raises(CROSS):
        pipe.execute()
    pipe = redis_client.pipeline(transaction=True)
    pipe.set(TAGGED[0], "1")
    pipe.set(TAGGED[1], "1")
    pipe.execute()
    assert redis_client.get(TAGGED[1]) == "1"


def test_a_watch_and_a_multi_over_two_slots_fails(redis_client) -> None:
    def change(pipe) -> None:
        pipe.get(A)
        pipe.multi()
        pipe.set(B, "1")

    with pytest.raises(CROSS):
        redis_client.transaction(change, A)


def test_the_embedded_store_is_guarded_too() -> None:
    r = connect(None, allow_embedded=True)
    with pytest.raises(CrossSlot):
        r.eval("return 1", 2, A, B)


def test_the_url_picks_the_client() -> None:
    assert is_cluster_url("redis+cluster://127.0.0.1:7000")
    assert is_cluster_url("rediss+cluster://cache.example:6380")
    assert not is_cluster_url("redis://127.0.0.1:6379/0")
    assert not is_cluster_url(None)


def test_keys_that_go_together_share_a_slot() -> None:
    """The key groups that scripts and transactions take together (bff.ground.store.keys)."""
    groups = [
        [keys.credential("wx1", "access_token"), keys.credential_lock("wx1", "access_token"),
         keys.credential_failure("wx1", "access_token")],
        [keys.activation_claim("t"), keys.activation_result("t"),
         keys.once_failure(keys.activation_claim("t"), "o")],
        [keys.redeem_ledger("c"), keys.redeem_claim("c"), keys.redeem_inflight("c")],
        [keys.import_checkpoint("card", "d", p) for p in ("done", "sent", "stock")],
        [keys.pool("card", p) for p in ("all", "available", "reserved", "holder", "claimed",
                                         "held-by", "retired")],
        [keys.event_stream(), keys.event_dedup("x"), keys.event_done("1-0"), keys.event_dead(),
         keys.push_seen("x")],
        [keys.channel_stats("card", "2026-01-01"), keys.channel_counted("1-0"),
         keys.channel_cards()],
        [keys.identity("unionid", "u"), keys.identity("mp", "m"), keys.identity("oa", "o")],
        [keys.operator_accounts(), keys.operator_token_of(), keys.operator_tokens(),
         keys.console_session("s"), keys.console_sessions_of("n")],
    ]
    for group in groups:
        assert len({key_slot(k.encode()) for k in group}) == 1, group



def test_flushdb_empties_every_master(redis_client) -> None:
    """The fixtures flush between tests: on a cluster that must reach every master."""
    names = [f"bff:flush-test:{i}" for i in range(64)]  # spread over the masters' slots
    assert len({key_slot(n.encode()) for n in names}) > 32
    for name in names:
        redis_client.set(name, "1")
    redis_client.flushdb()
    assert not any(redis_client.exists(n) for n in names)
    assert list(redis_client.scan_iter(match="bff:flush-test:*")) == []
