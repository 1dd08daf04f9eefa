"""Fixtures: the sandbox app on the test Redis, its client, a receiver for its pushes."""

from __future__ import annotations

import hashlib
import json
import time
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


class Helpers:
    """Short ways to do common WeChat steps through the sandbox's HTTP interface."""

    def __init__(self, client: FlaskClient) -> None:
        self.c = client

    def token(self, appid: str = OA_APPID, secret: str = OA_SECRET) -> str:
        answer = self.c.get("/cgi-bin/token", query_string={
            "grant_type": "client_credential", "appid": appid, "secret": secret}).get_json()
        return answer["access_token"]

    def call(self, path: str, token: str, body: dict[str, Any]) -> dict[str, Any]:
        return self.c.post(path, query_string={"access_token": token}, json=body).get_json()

    def user(self, **body: Any) -> dict[str, Any]:
        return self.c.post("/_sim/users", json=body).get_json()

    def card(self, **body: Any) -> str:
        body.setdefault("card_type", "GENERAL_COUPON")
        return self.c.post("/_sim/cards", json=body).get_json()["card_id"]

    def wx_card_ticket(self) -> str:
        return self.c.get("/_sim/tickets").get_json()["wx_card"]

    def card_ext(self, card_id: str, *, code: str = "", openid: str = "",
                 ticket: str | None = None, timestamp: int | None = None,
                 nonce: str | None = None, **extra: Any) -> str:
        ticket = ticket if ticket is not None else self.wx_card_ticket()
        timestamp = timestamp if timestamp is not None else int(time.time())
        nonce = nonce or hashlib.md5(str(time.perf_counter_ns()).encode()).hexdigest()[:16]
        ext: dict[str, Any] = {"timestamp": str(timestamp), "nonce_str": nonce, **extra}
        if code:
            ext["code"] = code
        if openid:
            ext["openid"] = openid
        ext["signature"] = card_ext_signature(ticket, str(timestamp), card_id, code, openid,
                                              nonce)
        return json.dumps(ext)

    def add_card(self, user: str, card_id: str, card_ext: str | None = None,
                 **body: Any) -> dict[str, Any]:
        card_ext = card_ext if card_ext is not None else self.card_ext(card_id)
        answer = self.c.post("/_sim/add-card", json={
            "user": user, "card_list": [{"cardId": card_id, "cardExt": card_ext}], **body})
        assert answer.status_code == 200, answer.get_json()
        return answer.get_json()

    def decrypt(self, token: str, encrypt_code: str) -> dict[str, Any]:
        return self.call("/card/code/decrypt", token, {"encrypt_code": encrypt_code})


def card_ext_signature(*values: str) -> str:
    """Written from WeChat's description, independently of the sandbox."""
    return hashlib.sha1("".join(sorted(values)).encode()).hexdigest()


@pytest.fixture
def h(wx: FlaskClient) -> Helpers:
    return Helpers(wx)
