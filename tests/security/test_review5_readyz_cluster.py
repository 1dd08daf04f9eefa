"""Fifth review: /readyz on a Redis Cluster.

/readyz sent its PING through ``coalesce.send`` for a while. On a cluster client that is
redis-py's cluster pipeline, which refuses PING ("Calling pipelined function ping is blocked
when running redis in cluster mode") with a ``RedisClusterException``: one of
``STORE_ERRORS``, so every probe answered 503 "Redis is unreachable" while the cluster was
healthy, and a readiness gate would have taken every instance out of rotation. It pings
directly again.

The default pass runs on one server and does not see it: this test brings up its own
cluster (or uses the suite's, under BFF_TEST_REDIS=cluster).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bff import create_app
from bff.ground import store
from tests.conftest import MODE
from tests.redis_server import RedisClusterNodes


@pytest.fixture(scope="module")
def cluster_url(request: pytest.FixtureRequest) -> Iterator[str]:
    if MODE == "cluster":
        yield request.getfixturevalue("redis_url")
        return
    cluster = RedisClusterNodes().start()
    try:
        yield cluster.url
    finally:
        cluster.stop()


@pytest.mark.slow  # its own cluster in the single-server pass
def test_readyz_is_ready_on_a_healthy_cluster(cluster_url: str) -> None:
    r = store.connect(cluster_url, allow_embedded=False)
    assert r.ping()  # the cluster answers
    app = create_app({"sandbox": True, "redis_url": cluster_url})
    app.config["TESTING"] = True
    client = app.test_client()
    ready = client.get("/readyz")
    assert ready.status_code == 200, (ready.status_code, ready.get_json())
    assert ready.get_json()["redis"] == "ok"
