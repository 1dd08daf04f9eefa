"""The sandbox's scripts on connections it keeps (``Sandbox.run``): the answers redis-py's
``Script`` gives, one connection for calls one after another, and the cases the pool's checks
covered (a connection the server closed, a server that lost its scripts, a forked child)."""

from __future__ import annotations

import pytest
import redis

from bff.sandbox.core import Sandbox

COUNT = "return redis.call('INCR', KEYS[1])"
KEY = "{wxsandbox}:test-count"


@pytest.fixture
def sb(redis_client, sb_config) -> Sandbox:
    if type(redis_client) is not redis.Redis:
        pytest.skip("a cluster client runs the sandbox's scripts through redis-py")
    return Sandbox(redis_client, sb_config, None)


def test_calls_one_after_another_use_one_kept_connection(sb):
    assert [sb.run(COUNT, [KEY], []) for _ in range(5)] == [1, 2, 3, 4, 5]
    assert len(sb._kept) == 1
    assert sb.run("return {ARGV[1], KEYS[1]}", [KEY], ["x"]) == ["x", KEY]  # decoded as redis-py's


def test_a_connection_the_server_closed_is_sent_again_once(sb, redis_client):
    assert sb.run(COUNT, [KEY], []) == 1
    redis_client.client_kill_filter(_type="normal", skipme=True)  # the kept one among them
    assert sb.run(COUNT, [KEY], []) == 2  # counted once: the closed connection ran nothing
    assert redis_client.get(KEY) == "2"


def test_a_server_that_lost_its_scripts_loads_them_again(sb, redis_client):
    assert sb.run(COUNT, [KEY], []) == 1
    redis_client.script_flush()
    assert sb.run(COUNT, [KEY], []) == 2


def test_an_error_reply_is_raised_and_the_next_call_answers(sb):
    with pytest.raises(redis.ResponseError, match="no such thing"):
        sb.run("return redis.error_reply('no such thing')", [KEY], [])
    assert sb.run(COUNT, [KEY], []) == 1


def test_a_forked_child_does_not_use_its_parents_connections(sb, monkeypatch):
    sb.run(COUNT, [KEY], [])
    [parents] = sb._kept
    monkeypatch.setattr(sb, "_kept_pid", -1)  # as the child sees it: another process's
    assert sb.run(COUNT, [KEY], []) == 2
    assert parents not in sb._kept


def test_the_slot_guard_sees_the_sandboxs_scripts(sb):
    from tests.slot_guard import CrossSlot

    with pytest.raises(CrossSlot):
        sb.run(COUNT, ["{a}x", "{b}y"], [])


def test_failures_do_not_use_up_the_pools_connections(sb, redis_client, monkeypatch):
    """A connection that failed is kept and connects again: the pool's count of connections
    made (its limit, ``max_connections``, is the service's too) does not grow with failures."""
    sb.run(COUNT, [KEY], [])
    redis_client.ping()  # the test's own connection, besides the one the sandbox keeps
    made = redis_client.connection_pool._created_connections
    for _ in range(5):
        redis_client.client_kill_filter(_type="normal", skipme=True)
        with pytest.raises(redis.ResponseError):
            sb.run("return redis.error_reply('no')", [KEY], [])
    assert sb.run(COUNT, [KEY], []) == 2
    assert redis_client.connection_pool._created_connections == made


def test_a_bursts_extra_connections_go_back_to_the_pool(sb, redis_client, monkeypatch):
    """Calls that overlap take a connection each; once they end, the sandbox keeps at most
    ``KEPT_CONNECTIONS`` and gives the others back to the pool the service shares."""
    import threading

    from bff.sandbox import core

    monkeypatch.setattr(core, "KEPT_CONNECTIONS", 1)
    busy = "local n = 0 for i = 1, 3000000 do n = n + 1 end return redis.call('INCR', KEYS[1])"
    threads = [threading.Thread(target=sb.run, args=(busy, [KEY], [])) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert redis_client.get(KEY) == "3"
    assert len(sb._kept) == 1
    assert len(redis_client.connection_pool._available_connections) >= 2  # the other two


@pytest.mark.parametrize("packer", ["hiredis", "redis-py"])
def test_either_packing_sends_the_script_with_its_keys_and_arguments(sb, monkeypatch, packer):
    from bff.sandbox import core

    if packer == "redis-py":  # hiredis missing: redis-py packs each command itself
        monkeypatch.setattr(core, "pack_command", None)
    assert sb.run("return {KEYS[1], ARGV[1], ARGV[2], #ARGV}", [KEY], ["x y", 7]) \
        == [KEY, "x y", "7", 2]
    sb.r.script_flush()  # sent again after loading it: the same command
    assert sb.run("return {KEYS[1], ARGV[1], ARGV[2], #ARGV}", [KEY], ["é", 7]) \
        == [KEY, "é", "7", 2]
