"""Fixtures: a real Redis, the app in sandbox mode, its test client and CLI runner.

``BFF_TEST_REDIS`` picks the Redis the whole suite runs on: ``single`` (default, one
throwaway redis-server) or ``cluster`` (a throwaway Redis Cluster: three masters, each with a
replica; the app gets a ``redis+cluster://`` URL). ``BFF_TEST_REDIS_URL`` names an existing
server instead (its database is flushed by the tests). In both modes every Lua script and
transaction must stay in one hash slot (``tests/slot_guard.py``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import redis

from bff import store
from tests.redis_server import RedisClusterNodes, RedisServer
from tests.slot_guard import SlotGuard

pytest_plugins = ["tests.story"]  # the ``story`` fixture: one vocabulary for every test

MODE = os.environ.get("BFF_TEST_REDIS", "single")
if MODE not in ("single", "cluster"):
    raise pytest.UsageError("BFF_TEST_REDIS must be single or cluster")


def pytest_report_header() -> str:
    return f"redis: {MODE} ({os.environ.get('BFF_TEST_REDIS_URL') or 'throwaway'})"


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    url = os.environ.get("BFF_TEST_REDIS_URL")
    if url:
        yield url
        return
    if MODE == "cluster":
        cluster = RedisClusterNodes().start()
        try:
            yield cluster.url
        finally:
            cluster.stop()
        return
    server = RedisServer().start()
    try:
        yield server.url
    finally:
        server.remove()


@pytest.fixture(scope="session", autouse=True)
def slot_guard() -> Iterator[SlotGuard]:
    """Installed for the whole run: a script or transaction over two hash slots fails."""
    server = RedisServer().start()  # COMMAND's key positions, from the same redis-server
    client = server.client()
    guard = SlotGuard(client)
    try:
        with guard.installed():
            yield guard
    finally:
        client.close()
        server.remove()


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    """The test Redis, flushed before and after (every master of a cluster)."""
    client = store.connect(redis_url, allow_embedded=False)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture
def settings_overrides(redis_url: str) -> dict:
    """Settings for a sandbox-mode app on the test Redis; tests may extend it."""
    return {"sandbox": True, "redis_url": redis_url}


@pytest.fixture
def app(redis_client: redis.Redis, settings_overrides: dict):
    from bff import create_app

    app = create_app(settings_overrides)
    app.config["TESTING"] = True
    yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()
