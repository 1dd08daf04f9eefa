"""Credentials on a real Redis with a counting source: single flight, expiry, Redis outages."""

from __future__ import annotations

import threading
import time

import pytest
import redis

from bff.ground.store import keys
from bff.ground.wechat.credentials import Credentials, CredentialStoreUnavailable
from bff.ground.wechat.errors import QuotaExceeded, TokenInvalid
from tests.redis_server import RedisServer

APPID = "wxcredtest"


class CountingSource:
    """Stands in for WeChat's token endpoints; counts calls."""

    appid = APPID
    refetch_is_harmless = True

    def __init__(self, delay: float = 0.0, error: Exception | None = None) -> None:
        self.delay, self.error = delay, error
        self.token_calls = self.ticket_calls = 0
        self.ticket_tokens: list[str] = []
        self.reject_tokens: set[str] = set()
        self._lock = threading.Lock()

    def fetch_access_token(self) -> tuple[str, int]:
        with self._lock:
            self.token_calls += 1
            n = self.token_calls
        time.sleep(self.delay)
        if self.error:
            raise self.error
        return f"token-{n}", 7200

    def fetch_ticket(self, ticket_type: str, access_token: str) -> tuple[str, int]:
        with self._lock:
            self.ticket_calls += 1
            self.ticket_tokens.append(access_token)
        if access_token in self.reject_tokens:
            raise TokenInvalid(40001, "invalid credential", "/cgi-bin/ticket/getticket")
        return f"{ticket_type}-ticket-{self.ticket_calls}", 7200

    def path_for(self, kind: str) -> str:
        return "/cgi-bin/stable_token"


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def run_threads(n: int, fn) -> list:
    results: list = [None] * n
    barrier = threading.Barrier(n)

    def work(i: int) -> None:
        barrier.wait()
        try:
            results[i] = fn()
        except Exception as e:  # collected for the assertions
            results[i] = e

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_one_fetch_for_many_threads_and_instances(redis_client: redis.Redis) -> None:
    source = CountingSource(delay=0.2)
    # Four "instances" sharing Redis, eight threads each.
    instances = [Credentials(redis_client, source) for _ in range(4)]
    results = run_threads(32, lambda: instances[threading.get_ident() % 4].access_token())
    assert results == ["token-1"] * 32
    assert source.token_calls == 1
    assert redis_client.ttl(keys.credential(APPID, "access_token")) > 6800


def test_hot_path_does_not_touch_redis(redis_client: redis.Redis) -> None:
    creds = Credentials(redis_client, CountingSource())
    creds.ticket("wx_card")
    before = redis_client.info("stats")["total_commands_processed"]
    for _ in range(1000):
        creds.ticket("wx_card")
    after = redis_client.info("stats")["total_commands_processed"]
    assert after - before <= 1  # the INFO command itself


def test_compare_and_expire_only_drops_the_failed_value(redis_client: redis.Redis) -> None:
    source = CountingSource()
    a, b = Credentials(redis_client, source), Credentials(redis_client, source)
    assert a.access_token() == "token-1"
    a.expire_access_token("token-0")  # a stale failure: keeps the current token
    assert b.access_token() == "token-1" and source.token_calls == 1
    a.expire_access_token("token-1")
    assert a.access_token() == "token-2" and source.token_calls == 2
    b.expire_access_token("token-1")  # b's late report must not drop token-2 from Redis
    assert redis_client.hget(keys.credential(APPID, "access_token"), "value") == "token-2"


def test_ticket_refetches_token_once_when_getticket_rejects_it(
    redis_client: redis.Redis,
) -> None:
    source = CountingSource()
    source.reject_tokens.add("token-1")
    creds = Credentials(redis_client, source)
    assert creds.ticket("wx_card") == "wx_card-ticket-2"
    assert source.ticket_tokens == ["token-1", "token-2"] and source.token_calls == 2


def test_failed_refresh_is_shared_not_repeated(redis_client: redis.Redis) -> None:
    source = CountingSource(delay=0.1, error=QuotaExceeded(45009, "quota", "/cgi-bin/token"))
    instances = [Credentials(redis_client, source) for _ in range(4)]
    results = run_threads(16, lambda: instances[threading.get_ident() % 4].access_token())
    assert all(isinstance(r, QuotaExceeded) for r in results)
    assert source.token_calls == 1


def test_refresh_ahead_keeps_serving_the_old_value(redis_client: redis.Redis) -> None:
    clock, source = Clock(), CountingSource()
    creds = Credentials(redis_client, source, clock=clock)
    assert creds.access_token() == "token-1"
    clock.now += 7200 - 300 - 300 + 1  # inside the refresh margin, still valid
    assert creds.access_token() == "token-2" and source.token_calls == 2
    other = Credentials(redis_client, source, clock=clock)
    assert other.access_token() == "token-2" and source.token_calls == 2


@pytest.mark.slow  # seconds of real waiting (timeouts, renewals, outages)
def test_redis_outage_serves_local_value_and_recovers() -> None:
    server = RedisServer().start()
    client = redis.Redis.from_url(server.url, decode_responses=True,
                                  socket_connect_timeout=0.5, socket_timeout=0.5)
    try:
        clock, source = Clock(), CountingSource()
        creds = Credentials(client, source, clock=clock)
        assert creds.access_token() == "token-1"
        server.stop()
        clock.now += 120  # past the local TTL: would normally re-read Redis
        assert [creds.access_token() for _ in range(50)] == ["token-1"] * 50
        assert source.token_calls == 1

        # A fresh process with nothing cached: one direct fetch, then its local copy.
        cold = Credentials(client, source, clock=clock)
        assert [cold.access_token() for _ in range(50)] == ["token-2"] * 50
        assert source.token_calls == 2

        server.start()
        clock.now += 120
        time.sleep(1.1)  # the short "Redis is down" back-off
        assert creds.access_token() == "token-3"  # Redis came back empty: one refresh
        assert cold.access_token() == "token-3" and source.token_calls == 3
    finally:
        client.close()
        server.stop()


def test_redis_outage_without_a_value_is_rate_limited() -> None:
    server = RedisServer().start()
    client = redis.Redis.from_url(server.url, decode_responses=True,
                                  socket_connect_timeout=0.5, socket_timeout=0.5)
    try:
        source = CountingSource(error=QuotaExceeded(45009, "quota", "/cgi-bin/stable_token"))
        creds = Credentials(client, source)
        server.stop()
        with pytest.raises(QuotaExceeded):
            creds.access_token()
        for _ in range(20):
            with pytest.raises(CredentialStoreUnavailable):
                creds.access_token()
        assert source.token_calls == 1
    finally:
        client.close()
        server.stop()


def test_embedded_store_compares_and_expires() -> None:
    import fakeredis

    store = fakeredis.FakeRedis(decode_responses=True)
    source = CountingSource()
    creds = Credentials(store, source)
    assert creds.access_token() == "token-1"
    creds.expire_access_token("token-0")
    assert store.hget(keys.credential(APPID, "access_token"), "value") == "token-1"
    creds.expire_access_token("token-1")
    assert creds.access_token() == "token-2"
    assert store.get(keys.credential_lock(APPID, "access_token")) is None
    store.close()
