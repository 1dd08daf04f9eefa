"""A Redis Cluster master fails over while the service answers requests.

A connection that breaks mid-request gives the documented 503 with Retry-After (never a 500);
the next requests reach the promoted replica without restarting the app, and what was
acknowledged before is still there. Each test starts its own cluster (it kills a node)."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from bff.ground.store import keys
from tests.redis_server import RedisClusterNodes
from tests.story import Story, bearer

# starts its own Redis Cluster: runs in the cluster pass (`pytest -m cluster`)
pytestmark = pytest.mark.cluster


@pytest.fixture
def cluster() -> Iterator[RedisClusterNodes]:
    nodes = RedisClusterNodes(node_timeout_ms=1000).start()
    try:
        yield nodes
    finally:
        nodes.stop()


def _app(cluster: RedisClusterNodes):
    from bff import create_app

    return create_app({"sandbox": True, "redis_url": cluster.url})


def _hammer(app, headers: dict, stop: threading.Event, answers: list) -> None:
    client = app.test_client()
    while not stop.is_set():
        res = client.get("/v1/me", headers=headers)
        answers.append((time.monotonic(), res.status_code, res.headers.get("Retry-After"),
                        res.get_json()))


@contextmanager
def hammering(app, headers: dict, threads: int) -> Iterator[list]:
    """``threads`` clients read /v1/me until the block ends; (time, status, Retry-After, JSON)."""
    stop, answers = threading.Event(), []
    workers = [threading.Thread(target=_hammer, args=(app, headers, stop, answers))
               for _ in range(threads)]
    for t in workers:
        t.start()
    try:
        yield answers
    finally:
        stop.set()
        for t in workers:
            t.join(10)


@pytest.fixture
def signed_in(cluster: RedisClusterNodes) -> tuple:
    """The app on the cluster, a user's session header and the Redis key of that session."""
    app = _app(cluster)
    story = Story(app.test_client())
    token = story.login(story.user())
    return app, bearer(token), keys.session(hashlib.sha256(token.encode()).hexdigest())


@pytest.mark.slow
def test_master_killed_mid_requests_gives_503_then_the_new_master(signed_in, cluster) -> None:
    app, auth, session_key = signed_in
    client = app.test_client()
    me = client.get("/v1/me", headers=auth)
    assert me.status_code == 200

    with hammering(app, auth, 4) as answers:
        time.sleep(0.3)
        killed_at = time.monotonic()
        old, new = cluster.kill_master(session_key)
        promoted_at = time.monotonic()
        deadline = promoted_at + 15
        while time.monotonic() < deadline:  # until the app answers from the new master
            if any(at > promoted_at and status == 200 for at, status, *_ in answers[-20:]):
                break
            time.sleep(0.1)

    statuses = {status for _, status, *_ in answers}
    assert statuses <= {200, 503}, statuses
    failed = [(at, status, retry_after, body) for at, status, retry_after, body in answers
              if status != 200]
    assert failed, "the master's death was not seen by any request"
    for at, status, retry_after, body in failed:
        assert status == 503 and retry_after, (status, retry_after)
        assert body["code"] == 503 and body["message"], body
        assert at >= killed_at
    assert answers[-1][1] == 200, "no answer from the new master without a restart"
    # the same app, no restart: the session written before the failover is still readable
    assert client.get("/v1/me", headers=auth).get_json() == me.get_json()
    assert new.client().info("replication")["role"] == "master"
    blip = max(at for at, *_ in failed) - min(at for at, *_ in failed)
    print(f"failover: {len(failed)} answers 503 over {blip:.2f} s, "
          f"{len(answers) - len(failed)} answered 200")


@pytest.mark.slow
def test_graceful_failover_is_invisible(signed_in, cluster) -> None:
    """``CLUSTER FAILOVER`` on the replica: the client follows MOVED, every answer is a 200."""
    app, auth, session_key = signed_in
    with hammering(app, auth, 2) as answers:
        time.sleep(0.2)
        cluster.failover(session_key)
        time.sleep(0.5)
    assert answers and {status for _, status, *_ in answers} == {200}
