"""BFF_SESSION_CACHE: sessions served from memory, and a revocation still immediate everywhere."""

from __future__ import annotations

import pytest

from bff import create_app
from tests.conftest import MODE
from tests.story import bearer

# The cache rides on CLIENT TRACKING over one connection: a single server's feature. On a
# cluster client it is off by design (README), which the last test checks in that mode.
single_only = pytest.mark.skipif(MODE == "cluster", reason="single-server feature: off on a "
                                 "cluster client, checked by test_off_on_a_cluster_client")


@pytest.fixture
def settings_overrides(redis_url: str) -> dict:
    return {"sandbox": True, "redis_url": redis_url, "session_cache": True}


@pytest.fixture
def other_instance(app, settings_overrides):
    """A second instance (its own Redis connections and cache) on the same Redis."""
    other = create_app(settings_overrides)
    other.config["TESTING"] = True
    yield other
    other.extensions["bff"].extras["session_cache"].close()
    app.extensions["bff"].extras["session_cache"].close()


def calls(r, command: str) -> int:
    """How many times the server has run ``command``."""
    stats = r.info("commandstats").get(f"cmdstat_{command}") or {}
    return int(stats.get("calls", 0))


def hmget_count(r) -> int:
    return calls(r, "hmget")


@single_only
def test_hits_are_served_without_redis_and_a_revocation_elsewhere_is_immediate(
        story, app, client, other_instance, redis_client):
    b = other_instance.test_client()
    cache_b = other_instance.extensions["bff"].extras["session_cache"]
    for _ in range(30):  # many rounds: a race would show as a stale 200
        token = story.login(story.user())
        assert b.get("/v1/me", headers=bearer(token)).status_code == 200  # fills b's cache
        before = hmget_count(redis_client)
        for _ in range(3):
            assert b.get("/v1/me", headers=bearer(token)).status_code == 200
        assert hmget_count(redis_client) == before  # served from b's memory
        # Revoked on instance a: the very next request on b is refused.
        assert client.delete("/v1/sessions/current", headers=bearer(token)).status_code == 204
        assert b.get("/v1/me", headers=bearer(token)).status_code == 401
        assert client.get("/v1/me", headers=bearer(token)).status_code == 401
    assert cache_b.hits >= 90


@single_only
def test_identity_links_are_served_from_memory_and_a_removal_elsewhere_is_immediate(
        story, app, client, other_instance, redis_client):
    """The identity link a request resolves the caller's OA openid from rides on the same
    cache: no round trip for it, and an operator's removal on instance a reaches b at once."""
    from tests.cards.test_shared_link_attack import ADMIN

    b = other_instance.test_client()
    cache_b = other_instance.extensions["bff"].extras["session_cache"]
    for _ in range(10):
        user = story.user(unionid=False)
        story.take_and_open(story.card(), user)  # linked by the cardExt proof
        token = story.login(user)

        def oa(token: str = token) -> str | None:
            return b.get("/v1/me", headers=bearer(token)).get_json()["official_account_openid"]

        assert oa() == user["oa_openid"]  # fills b's cache
        before, hits = calls(redis_client, "hgetall"), cache_b.hits
        assert [oa() for _ in range(3)] == [user["oa_openid"]] * 3
        assert calls(redis_client, "hgetall") == before  # the link too, from b's memory
        assert cache_b.hits >= hits + 6  # a session and a link each time
        gone = client.delete("/v1/admin/identities", headers=ADMIN,
                             query_string={"mp_openid": user["mp_openid"]})
        assert gone.status_code == 204
        assert oa() is None


@pytest.mark.parametrize("cached", [False, True])
def test_a_users_two_identity_links_are_read_in_one_round_trip(story, app, redis_client,
                                                              monkeypatch, cached):
    """A user's first request, before any link: the Mini Program openid's link and the
    unionid's are read together (one round trip, not one each), through the cache or not;
    once linked, a link in memory is served with no read at all."""
    from bff.domain.sessions.user import SessionUser
    from bff.ground.store import coalesce

    links = app.extensions["bff"].extras.get("session_cache") if cached else None
    user = story.user()

    def resolve_oa_openid(r, mp_openid, unionid, links):  # as each request's caller does
        return SessionUser(r, "token", mp_openid, None, unionid, links=links).oa_openid

    sends: list[int] = []
    real = coalesce._Coalescer.send

    def counting(self, build, scripts, carried=()):
        sends.append(1)
        return real(self, build, scripts, carried)

    monkeypatch.setattr(coalesce._Coalescer, "send", counting)
    assert resolve_oa_openid(redis_client, user["mp_openid"], user["unionid"],
                             links=links) is None
    assert len(sends) == 1
    monkeypatch.undo()
    story.take_and_open(story.card(), user)  # linked by the cardExt proof
    monkeypatch.setattr(coalesce._Coalescer, "send", counting)
    sends.clear()
    for _ in range(3):
        assert resolve_oa_openid(redis_client, user["mp_openid"], user["unionid"],
                                 links=links) == user["oa_openid"]
    assert len(sends) == (1 if links is not None else 3)  # cached: read once, then memory


@single_only
def test_a_connection_that_answers_its_checks_is_kept(redis_client):
    """The liveness check (PING every ping_every, given up after answer_within) must not give up
    a healthy connection: its pong counts as the answer, so entries stay cached across checks
    and the same connection serves throughout."""
    import time

    from bff.ground.store.tracked import TrackedCache

    cache = TrackedCache(redis_client, ("bff:test-tracked:",), ping_every=0.05,
                         answer_within=0.2)
    try:
        key = "bff:test-tracked:k"
        redis_client.set(key, "v")
        assert cache.load(key, lambda: redis_client.get(key)) == "v"
        conn = cache._conn
        deadline = time.monotonic() + 0.8  # four times answer_within: many checks
        while time.monotonic() < deadline:
            assert cache.load(key, lambda: pytest.fail("read again")) == "v"
            time.sleep(0.01)
        assert cache._conn is conn and cache.hits > 20
        redis_client.set(key, "w")  # and it still hears invalidations
        deadline = time.monotonic() + 1
        while cache.load(key, lambda: redis_client.get(key)) != "w":
            assert time.monotonic() < deadline
    finally:
        cache.close()
        redis_client.delete("bff:test-tracked:k")


@single_only
def test_a_quiet_spell_past_the_stores_health_check_does_not_drop_the_connection(redis_url):
    """The store's clients ask redis-py to PING a connection idle for health_check_interval
    (30 s); on the subscribed invalidation connection redis-py cannot read the pub/sub pong,
    and the cache went off after every quiet spell (the independent benchmark, finding B). The
    cache sends its own PINGs: the connection takes no health check."""
    import time

    import redis

    from bff.ground.store.tracked import TrackedCache

    client = redis.Redis.from_url(redis_url, decode_responses=True, health_check_interval=1)
    cache = TrackedCache(client, ("bff:test-tracked:",))
    try:
        key = "bff:test-tracked:quiet"
        client.set(key, "v")
        assert cache.load(key, lambda: client.get(key)) == "v"
        conn = cache._conn
        time.sleep(1.3)  # quiet past the health check's interval
        assert cache.load(key, lambda: pytest.fail("read again")) == "v"
        assert cache._conn is conn
    finally:
        cache.close()
        client.delete("bff:test-tracked:quiet")
        client.close()


@single_only
def test_a_change_by_redis_itself_reaches_the_cache(
        story, app, other_instance, redis_client):
    b = other_instance.test_client()
    token = story.login(story.user())
    assert b.get("/v1/me", headers=bearer(token)).status_code == 200
    redis_client.flushdb()  # an operator wipes the store (or the session expires): gone at once
    assert b.get("/v1/me", headers=bearer(token)).status_code == 401


@single_only
def test_a_lost_invalidation_connection_empties_and_bypasses_the_cache(
        story, app, client, other_instance, redis_client):
    b = other_instance.test_client()
    cache_b = other_instance.extensions["bff"].extras["session_cache"]
    token = story.login(story.user())
    assert b.get("/v1/me", headers=bearer(token)).status_code == 200
    assert b.get("/v1/me", headers=bearer(token)).status_code == 200
    redis_client.client_kill_filter(_type="pubsub")  # the invalidation connections die...
    # ...so nothing tells b about this revocation: b must not serve its cached entry.
    assert client.delete("/v1/sessions/current", headers=bearer(token)).status_code == 204
    assert b.get("/v1/me", headers=bearer(token)).status_code == 401
    assert cache_b._conn is None or not cache_b._entries


@pytest.mark.slow
@single_only
def test_under_gunicorn_gevent_hiredis_a_revocation_reaches_every_worker_at_once(
        redis_url, redis_client):
    """The Procfile's server (gevent workers, hiredis): two processes, each with its cache."""
    import os
    import subprocess
    import time

    import requests

    from bench.common import ROOT, procfile_web
    from tests.redis_server import free_port

    port = free_port()
    env = {**os.environ, "BFF_SANDBOX": "1", "BFF_REDIS_URL": redis_url, "WEB_CONCURRENCY": "2",
           "BFF_SESSION_CACHE": "1", "BFF_LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen(procfile_web(port, "wsgi:app"), cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"{base}/healthz", timeout=1)
                break
            except requests.RequestException:
                assert time.monotonic() < deadline, "gunicorn did not come up"
                time.sleep(0.2)
        close = {"Connection": "close"}  # a new connection each time: both workers answer

        def me(token: str) -> int:
            return requests.get(f"{base}/v1/me", headers={**bearer(token), **close},
                                timeout=10).status_code

        for _ in range(5):
            user = requests.post(f"{base}/sandbox/_sim/users", json={}, timeout=10).json()
            code = requests.post(f"{base}/sandbox/_sim/login-codes", timeout=10, json={
                "user": user["mp_openid"], "app": "miniprogram"}).json()["code"]
            token = requests.post(f"{base}/v1/sessions/miniprogram", json={"code": code},
                                  timeout=10).json()["token"]
            assert [me(token) for _ in range(4)] == [200] * 4  # each worker fills its cache
            before = hmget_count(redis_client)
            assert [me(token) for _ in range(30)] == [200] * 30
            assert hmget_count(redis_client) - before <= 2  # served from the workers' memory
            gone = requests.delete(f"{base}/v1/sessions/current",
                                   headers={**bearer(token), **close}, timeout=10)
            assert gone.status_code == 204
            assert [me(token) for _ in range(30)] == [401] * 30
    finally:
        proc.terminate()
        proc.wait(20)


@pytest.mark.skipif(MODE != "cluster", reason="checks the cluster mode")
def test_off_on_a_cluster_client(story, app, client):
    """On a cluster, BFF_SESSION_CACHE=1 leaves sessions read from Redis every time (so a
    revocation is still immediate), and nothing breaks."""
    assert app.extensions["bff"].extras.get("session_cache") is None
    token = story.login(story.user())
    assert client.get("/v1/me", headers=bearer(token)).status_code == 200
    assert client.delete("/v1/sessions/current", headers=bearer(token)).status_code == 204
    assert client.get("/v1/me", headers=bearer(token)).status_code == 401


def _invalidation_arrives(cache, key: str, writer) -> None:
    """Write ``key`` with ``writer``, then wait until the cache's invalidation connection has
    the message (the next drain applies it)."""
    import time

    from bff.ground.store.tracked import TrackedCache

    writer(key)
    deadline = time.monotonic() + 2
    while not TrackedCache._maybe_pending(cache._conn._sock):
        assert time.monotonic() < deadline, "no invalidation arrived"
        time.sleep(0.005)


@single_only
def test_a_value_read_while_another_key_changes_is_kept(redis_client):
    """A busy worker's writes (a user's first decrypt links openids) invalidate other keys
    all the time: with one epoch for every key, a read that any invalidation overtook was
    not kept, about half of them under bench/endpoints.py's many users (issue 18). Only an
    invalidation of the key read stops its value being kept."""
    from bff.ground.store.tracked import TrackedCache

    cache = TrackedCache(redis_client, ("bff:test-tracked:",))
    key, other = "bff:test-tracked:mine", "bff:test-tracked:other"
    try:
        redis_client.set(key, "v")
        cache.load(other, lambda: None)  # the invalidation connection, up

        def read_while_other_changes() -> str:
            value = redis_client.get(key)
            _invalidation_arrives(cache, other, lambda k: redis_client.set(k, "x"))
            return value

        assert cache.load(key, read_while_other_changes) == "v"
        assert cache.load(key, lambda: pytest.fail("read again")) == "v"  # kept
    finally:
        cache.close()
        redis_client.delete(key, other)


@single_only
def test_a_value_whose_key_changes_while_it_is_read_is_not_kept(redis_client):
    """The read may have seen the value before the change: it is answered, not kept; and a
    second read of the same key in flight at the same time is not kept either."""
    from bff.ground.store.tracked import TrackedCache

    cache = TrackedCache(redis_client, ("bff:test-tracked:",))
    key = "bff:test-tracked:mine"
    try:
        redis_client.set(key, "v")
        cache.load("bff:test-tracked:up", lambda: None)  # the invalidation connection, up

        def inner() -> str:  # a second read of the key, overtaken by the change too
            value = redis_client.get(key)
            _invalidation_arrives(cache, key, lambda k: redis_client.set(k, "w"))
            return value

        def outer() -> str:
            value = redis_client.get(key)
            assert cache.load(key, inner) == "v"
            return value

        assert cache.load(key, outer) == "v"  # what the read saw, answered
        assert not cache._entries  # neither kept
        assert cache.load(key, lambda: redis_client.get(key)) == "w"
        assert cache.load(key, lambda: pytest.fail("read again")) == "w"
    finally:
        cache.close()
        redis_client.delete(key, "bff:test-tracked:up")


@single_only
def test_a_read_that_fails_keeps_nothing(redis_client):
    from bff.ground.store.tracked import TrackedCache

    cache = TrackedCache(redis_client, ("bff:test-tracked:",))
    try:
        def failing() -> str:
            raise RuntimeError("the store went away")

        with pytest.raises(RuntimeError):
            cache.load("bff:test-tracked:k", failing)
        assert not cache._entries
        assert cache.load("bff:test-tracked:k", lambda: "v") == "v"
        assert cache.load("bff:test-tracked:k", lambda: pytest.fail("read again")) == "v"
    finally:
        cache.close()


@single_only
def test_a_reading_begun_and_never_finished_holds_nothing(redis_client):
    """A read begun for a round trip the request makes anyway (``begin``) may never be
    finished (the request failed first): nothing of it stays in the cache's books, and later
    reads of the key are kept as usual."""
    from bff.ground.store.tracked import TrackedCache

    cache = TrackedCache(redis_client, ("bff:test-tracked:",))
    key = "bff:test-tracked:k"
    try:
        redis_client.set(key, "v")
        for _ in range(3):
            assert cache.begin([key]).missing == [key]
        assert cache.load(key, lambda: redis_client.get(key)) == "v"
        assert cache.load(key, lambda: pytest.fail("read again")) == "v"
    finally:
        cache.close()
        redis_client.delete(key)


@single_only
def test_a_read_slower_than_the_horizon_is_answered_not_kept(redis_client, monkeypatch):
    """Invalidations are remembered for ``HORIZON`` seconds, then forgotten (the memory they
    take stays bounded): a read that took longer cannot tell whether its key changed
    meanwhile, and is not kept."""
    import time

    from bff.ground.store import tracked

    cache = tracked.TrackedCache(redis_client, ("bff:test-tracked:",))
    key, other = "bff:test-tracked:k", "bff:test-tracked:other"
    try:
        redis_client.set(key, "v")
        cache.load(other, lambda: None)  # the invalidation connection, up
        monkeypatch.setattr(tracked, "HORIZON", 0.05)

        def slow() -> str:
            time.sleep(0.1)
            return redis_client.get(key)

        assert cache.load(key, slow) == "v"
        assert key not in cache._entries
        _invalidation_arrives(cache, key, lambda k: redis_client.set(k, "w"))
        cache.peek(key)  # applies it
        assert set(cache._changed) == {key}
        time.sleep(0.1)
        _invalidation_arrives(cache, other, lambda k: redis_client.set(k, "x"))
        cache.peek(other)
        assert set(cache._changed) == {other}  # the older one forgotten
    finally:
        cache.close()
        redis_client.delete(key, other)


@pytest.mark.parametrize("cached", [False, True])
def test_a_session_not_in_memory_is_read_with_concurrent_requests_not_alone(
        story, app, client, monkeypatch, cached):
    """A session read from Redis (the cache off, or a user's first request on a worker) goes
    in the pipeline concurrent requests share (``bff.ground.store.coalesce``): through
    redis-py's own command and pool it cost a gevent worker several times the CPU, on half of
    the requests of many users (bench/many_users_inprocess.py)."""
    import redis

    from bff.ground.store import coalesce

    svc = app.extensions["bff"]
    if not cached:
        monkeypatch.delitem(svc.extras, "session_cache", raising=False)
    token = story.login(story.user())
    alone: list[str] = []
    sends: list[int] = []
    real_command, real_send = redis.Redis.execute_command, coalesce._Coalescer.send

    def command(self, *args, **options):
        alone.append(str(args[0]))
        return real_command(self, *args, **options)

    def send(self, build, scripts, carried=()):
        sends.append(1)
        return real_send(self, build, scripts, carried)

    monkeypatch.setattr(redis.Redis, "execute_command", command)
    monkeypatch.setattr(coalesce._Coalescer, "send", send)
    cache = svc.extras.get("session_cache")
    if cache is not None:
        cache._entries.clear()
    assert client.get("/v1/me", headers=bearer(token)).status_code == 200
    assert "HMGET" not in alone and sends, (alone, sends)


@pytest.mark.parametrize("cached", [False, True])
def test_a_decrypt_reads_the_callers_links_with_its_first_round_trip(story, app, client,
                                                                     monkeypatch, cached):
    """The owner check wants the caller's OA openid; when it is not in memory (a user's first
    request on a worker, or the cache off), the identity links go with the decrypt's first
    round trip (the decrypted answer's cache) instead of one of their own after the holding's:
    a round trip less on the requests that had the most (bench/endpoints.py's many users)."""
    from bff.ground.store import coalesce, keys

    svc = app.extensions["bff"]
    if not cached:
        monkeypatch.delitem(svc.extras, "session_cache", raising=False)
    user = story.user()
    token = story.login(user)
    encrypt_codes = [story.take(story.card(), user, token=token)[1] for _ in range(2)]
    sends: list[list[str]] = []  # the keys of each round trip of the request
    real = coalesce._Coalescer.send

    def recording(self, build, scripts, carried=()):
        carried = list(carried)
        commands = coalesce._Commands()
        for c in [*carried, coalesce._Call(build, scripts)]:
            c.build(commands)
        sends.append([str(args[1]) for args, _ in commands.commands if len(args) > 1])
        return real(self, build, scripts, carried)

    links = {keys.identity("mp", user["mp_openid"]), keys.identity("unionid", user["unionid"])}
    for encrypt_code in encrypt_codes:  # unlinked, then linked by the first
        cache = svc.extras.get("session_cache")
        if cache is not None:
            cache._entries.clear()
        sends.clear()
        monkeypatch.setattr(coalesce._Coalescer, "send", recording)
        answer = client.post("/v1/cards/codes/decrypt", json={"encrypt_code": encrypt_code},
                             headers=bearer(token))
        monkeypatch.undo()
        if not cached:
            monkeypatch.delitem(svc.extras, "session_cache", raising=False)
        assert answer.status_code == 200, answer.text
        with_links = [i for i, sent in enumerate(sends) if links & set(sent)]
        first = next(i for i, sent in enumerate(sends)
                     if any(k.startswith(keys.decrypted("")) for k in sent))
        assert with_links == [first], sends
