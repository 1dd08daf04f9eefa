"""The WeChat package against the sandbox: what crossed the boundary, counted by /_sim/calls."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import requests

from bff.ground import config
from bff.ground.config import load_settings
from bff.ground.store import keys
from bff.ground.wechat import build_wechat
from bff.ground.wechat.api import WeChatApi
from bff.ground.wechat.client import WeChatClient
from bff.ground.wechat.credential_source import WeChatCredentialSource
from bff.ground.wechat.credentials import Credentials
from bff.ground.wechat.errors import QuotaExceeded, WeChatUnavailable
from tests.redis_server import RedisServer
from tests.story import Story

ROOT = Path(__file__).resolve().parents[2]
SANDBOX = "http://sandbox.internal"


def sandbox_config():
    from bff.sandbox import SandboxConfig

    return SandboxConfig(
        oa_appid=config.SANDBOX_APPID, oa_secret=config.SANDBOX_SECRET,
        mp_appid=config.SANDBOX_MP_APPID, mp_secret=config.SANDBOX_MP_SECRET,
        push_token=config.SANDBOX_PUSH_TOKEN, push_aes_key=config.SANDBOX_PUSH_AES_KEY,
    )


@pytest.fixture
def story(redis_client: redis.Redis) -> Iterator[Story]:
    """The story told to the sandbox mounted in-process on a ``requests.Session``."""
    from bff.sandbox import create_sandbox_app
    from bff.sandbox.transport import WSGIAdapter

    session = requests.Session()
    session.mount(SANDBOX, WSGIAdapter(create_sandbox_app(redis_client, sandbox_config())))
    yield Story(session, wechat=SANDBOX)
    session.close()


def api_for(story: Story, redis_client: redis.Redis) -> WeChatApi:
    settings = load_settings({}, {"sandbox": True, "redis_url": "redis://unused"})
    api = build_wechat(settings, redis_client, session=story.client, base_url=SANDBOX)
    api.client._sleep_backoff = lambda attempt: None
    api.credentials.source.transport._sleep_backoff = lambda attempt: None
    return api


@pytest.mark.slow
def test_storm_of_8_processes_x_16_threads_makes_one_token_call(redis_url: str) -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "credential_storm.py"), "--redis-url", redis_url,
         "--processes", "8", "--threads", "16", "--rounds", "1", "--json"],
        capture_output=True, text=True, timeout=60, cwd=ROOT, check=True,
    )
    report = json.loads(out.stdout.strip().splitlines()[-1])
    [storm] = report["rounds"]
    assert storm["errors"] == []
    assert storm["token_calls"] == 1 and storm["ticket_calls"] == 1
    assert storm["distinct_tokens"] == 1
    assert report["hot_path_redis_round_trips"] < 0.001


def test_rejected_token_is_refreshed_once_and_the_call_retried(
    story: Story, redis_client: redis.Redis
) -> None:
    api = api_for(story, redis_client)
    user = story.user(unionid=True)
    story.fault("cgi-bin/user/info", count=1, errcode=40001)
    info = api.user_info(user["oa_openid"])
    assert info["openid"] == user["oa_openid"]
    assert story.calls("cgi-bin/user/info") == 2
    assert story.calls("cgi-bin/stable_token") == 2  # the first fetch + one refresh


def test_busy_twice_then_success(story: Story, redis_client: redis.Redis) -> None:
    api = api_for(story, redis_client)
    user = story.user()
    story.fault("cgi-bin/user/info", count=2, errcode=-1)
    assert api.user_info(user["oa_openid"])["openid"] == user["oa_openid"]
    assert story.calls("cgi-bin/user/info") == 3


def test_quota_exceeded_is_raised_without_a_refresh_storm(
    story: Story, redis_client: redis.Redis
) -> None:
    api = api_for(story, redis_client)
    user = story.user()
    story.fault("cgi-bin/user/info", count=5, errcode=45009)
    for _ in range(5):
        with pytest.raises(QuotaExceeded):
            api.user_info(user["oa_openid"])
    assert story.calls("cgi-bin/user/info") == 5  # no retries
    assert story.calls("cgi-bin/stable_token") == 1  # no token refreshes


def test_quota_on_the_token_endpoint_is_not_hammered(
    story: Story, redis_client: redis.Redis
) -> None:
    api = api_for(story, redis_client)
    story.fault("cgi-bin/stable_token", count=10, errcode=45009)
    for _ in range(5):
        with pytest.raises(QuotaExceeded):
            api.user_info("o-anyone")
    assert story.calls("cgi-bin/stable_token") == 1  # the failure is shared for a moment


@pytest.mark.slow  # seconds of real waiting (timeouts, renewals, outages)
def test_timeouts_give_unavailable_after_bounded_attempts(redis_client: redis.Redis,
                                                          redis_url: str) -> None:
    from bff.sandbox import serve_in_thread

    base_url, shutdown = serve_in_thread(redis_url, sandbox_config())
    session = requests.Session()
    story = Story(session, wechat=base_url)  # the sandbox over a real socket
    try:
        transport = WeChatClient(base_url, connect_timeout=1, read_timeout=0.2, max_retries=2)
        transport._sleep_backoff = lambda attempt: None
        source = WeChatCredentialSource(transport, appid=config.SANDBOX_APPID,
                                        secret=config.SANDBOX_SECRET)
        client = WeChatClient(base_url, connect_timeout=1, read_timeout=0.2, max_retries=2,
                              credentials=Credentials(redis_client, source))
        client._sleep_backoff = lambda attempt: None
        client.credentials.access_token()
        story.fault("cgi-bin/user/info", latency_ms=600, count=3)
        with pytest.raises(WeChatUnavailable) as e:
            client.get("/cgi-bin/user/info", openid="o-anyone")
        assert e.value.reason == "timeout"
        assert story.calls("cgi-bin/user/info") == 3
    finally:
        session.close()
        shutdown()


@pytest.mark.slow  # seconds of real waiting (timeouts, renewals, outages)
def test_redis_outage_serves_the_cached_token_and_recovers(
    story: Story, redis_client: redis.Redis
) -> None:
    server = RedisServer().start()
    store = redis.Redis.from_url(server.url, decode_responses=True, socket_connect_timeout=0.5,
                                 socket_timeout=0.5)
    try:
        transport = WeChatClient(SANDBOX, session=story.client, connect_timeout=1,
                                 read_timeout=2)
        source = WeChatCredentialSource(transport, appid=config.SANDBOX_APPID,
                                        secret=config.SANDBOX_SECRET)
        creds = Credentials(store, source, local_ttl=0.2)
        client = WeChatClient(SANDBOX, session=story.client, connect_timeout=1,
                              read_timeout=2, credentials=creds)
        user = story.user()
        client.get("/cgi-bin/user/info", openid=user["oa_openid"])

        server.stop()
        time.sleep(0.3)  # past the local TTL: normally a Redis read
        for _ in range(30):
            client.get("/cgi-bin/user/info", openid=user["oa_openid"])
        assert story.calls("cgi-bin/stable_token") == 1

        server.start()
        time.sleep(1.1)  # past the "Redis is down" back-off
        for _ in range(30):
            client.get("/cgi-bin/user/info", openid=user["oa_openid"])
        # Redis came back empty: one fetch refilled it; stable_token returned the same token.
        assert story.calls("cgi-bin/stable_token") == 2
        assert store.exists(keys.credential(config.SANDBOX_APPID, "access_token"))
        assert story.calls("cgi-bin/user/info") == 61
    finally:
        store.close()
        server.stop()
