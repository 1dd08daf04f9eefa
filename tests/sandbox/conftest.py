"""Fixtures: the sandbox app on the test Redis, its client, a receiver for its pushes, and the
``story`` told straight to it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import pytest
import redis
import requests
from flask import Flask
from flask.testing import FlaskClient

from bff.sandbox import SandboxConfig, create_sandbox_app
from bff.sandbox.transport import WSGIAdapter
from tests.story import Story

OA_APPID, OA_SECRET = "wxoatest0000000001", "oa-secret-test"
MP_APPID, MP_SECRET = "wxmptest0000000001", "mp-secret-test"
PUSH_TOKEN = "pushtoken"
PUSH_AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
EVENT_URL = "http://bff.internal/wechat/events"


@dataclass
class Receiver:
    """A tiny WSGI app standing in for the BFF's /wechat/events."""

    answers: list[tuple[int, bytes]] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        self.received.append({
            "method": environ["REQUEST_METHOD"],
            "path": environ["PATH_INFO"],
            "query": {k: v[0] for k, v in parse_qs(environ["QUERY_STRING"]).items()},
            "body": body.decode("utf-8"),
            "content_type": environ.get("CONTENT_TYPE"),
        })
        status, answer = self.answers.pop(0) if self.answers else (200, b"success")
        start_response(f"{status} X", [("Content-Type", "text/plain")])
        return [answer]


@pytest.fixture
def receiver() -> Receiver:
    return Receiver()


@pytest.fixture
def sb_config() -> SandboxConfig:
    return SandboxConfig(
        oa_appid=OA_APPID, oa_secret=OA_SECRET, mp_appid=MP_APPID, mp_secret=MP_SECRET,
        push_token=PUSH_TOKEN, push_aes_key=PUSH_AES_KEY, event_url=EVENT_URL, safe_mode=True,
    )


@pytest.fixture
def sandbox_app(redis_client: redis.Redis, sb_config: SandboxConfig,
                receiver: Receiver) -> Iterator[Flask]:
    session = requests.Session()
    session.mount("http://bff.internal", WSGIAdapter(receiver))
    app = create_sandbox_app(redis_client, sb_config, push_session=session)
    app.config["TESTING"] = True
    yield app
    session.close()


@pytest.fixture
def wx(sandbox_app: Flask) -> FlaskClient:
    return sandbox_app.test_client()


@pytest.fixture
def story(wx: FlaskClient) -> Story:
    """The story told straight to the standalone sandbox (no BFF, no prefix)."""
    return Story(wx, wechat="", appid=OA_APPID, secret=OA_SECRET)
