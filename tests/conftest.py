"""Fixtures: a real Redis, the app in sandbox mode, its test client and CLI runner."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import redis

from tests.redis_server import RedisServer


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    url = os.environ.get("BFF_TEST_REDIS_URL")
    if url:
        yield url
        return
    server = RedisServer().start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
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
