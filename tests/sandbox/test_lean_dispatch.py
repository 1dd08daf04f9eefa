"""The sandbox's own dispatch of its WeChat API routes (``SandboxFlask``) answers as Flask's.

Each request below is answered twice, by the app (its own dispatch for a WeChat API route) and
by ``Flask.wsgi_app`` (Flask's request context, routing, hooks and error handlers), and the two
answers must be the same: status, content type and body.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import redis
from flask import Flask, g, has_request_context
from werkzeug.test import EnvironBuilder

from bff.sandbox import crypto, push
from bff.sandbox.app import SandboxFlask
from bff.sandbox.web import api_request, ok
from tests.sandbox.conftest import MP_APPID, MP_SECRET, Receiver
from tests.story import Story


def answer(dispatch: Callable[..., Any], method: str, path: str, *, query: dict | None = None,
           data: bytes = b"", headers: dict | None = None) -> tuple[str, str, Any]:
    environ = EnvironBuilder(method=method, path=path, query_string=query, data=data,
                             headers=headers).get_environ()
    if method == "POST":  # as every WeChat client sends it (and the in-process adapter)
        environ.setdefault("CONTENT_LENGTH", str(len(data)))
    started: list[tuple[str, list]] = []
    body = b"".join(dispatch(environ, lambda status, hs, exc=None: started.append((status, hs))))
    status, hs = started[0]
    try:
        parsed: Any = json.loads(body)
    except ValueError:
        parsed = body
    return status, dict(hs).get("Content-Type", ""), parsed


def both(app: Flask, method: str, path: str, **request: Any) -> tuple[Any, Any]:
    """(the app's answer, Flask's answer) to the same request."""
    assert path in app.lean_routes  # else both answers would be Flask's
    return (answer(app.wsgi_app, method, path, **request),
            answer(lambda e, s: Flask.wsgi_app(app, e, s), method, path, **request))


def decrypt_body(encrypted: str) -> bytes:
    return json.dumps({"encrypt_code": encrypted}).encode()


@pytest.fixture
def taken(story: Story) -> tuple[str, str]:
    """(access_token, encrypt_code) of a code a user has just taken."""
    card_id = story.card()
    _, encrypted = story.take(card_id, signed_by="ticket")
    return story.token(), encrypted


def test_the_wechat_api_routes_are_answered_without_a_flask_request_context(
        sandbox_app: Flask, taken: tuple[str, str], monkeypatch: pytest.MonkeyPatch):
    assert isinstance(sandbox_app, SandboxFlask)
    assert "/card/code/decrypt" in sandbox_app.lean_routes
    assert "/cgi-bin/user/info" in sandbox_app.lean_routes  # a GET
    assert "/cgi-bin/token" not in sandbox_app.lean_routes  # no access_token: Flask's
    seen = []
    unseal = crypto.unseal

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append((has_request_context(), api_request().path))
        return unseal(*args, **kwargs)

    monkeypatch.setattr(crypto, "unseal", spy)
    token, encrypted = taken
    mine, flasks = both(sandbox_app, "POST", "/card/code/decrypt", query={"access_token": token},
                        data=decrypt_body(encrypted))
    assert seen == [(False, "/card/code/decrypt"), (True, "/card/code/decrypt")]
    assert mine == flasks
    assert mine[:2] == ("200 OK", "application/json") and mine[2]["errcode"] == 0


@pytest.mark.parametrize("case", ["no token", "bad token", "not json", "not utf-8", "no body",
                                  "another appid", "wrong type"])
def test_refusals_are_the_same(sandbox_app: Flask, story: Story, taken: tuple[str, str],
                               case: str):
    token, encrypted = taken
    query: dict[str, str] = {"access_token": token}
    data = decrypt_body(encrypted)
    if case == "no token":
        query = {}
    elif case == "bad token":
        query = {"access_token": "nope"}
    elif case == "not json":
        data = b"{not json"
    elif case == "not utf-8":
        data = '{"encrypt_code": "码"}'.encode("gbk")
    elif case == "no body":
        data = b""
    elif case == "another appid":
        query = {"access_token": story.token(MP_APPID, MP_SECRET)}
    else:
        data = json.dumps({"encrypt_code": ["a"]}).encode()
    mine, flasks = both(sandbox_app, "POST", "/card/code/decrypt", query=query, data=data)
    assert mine == flasks
    assert mine[2]["errcode"] != 0


def test_an_oa_only_get_with_its_query(sandbox_app: Flask, story: Story):
    user = story.user()
    query = {"access_token": story.token(), "openid": user["oa_openid"], "lang": "en"}
    mine, flasks = both(sandbox_app, "GET", "/cgi-bin/user/info", query=query)
    assert mine == flasks
    assert mine[2]["openid"] == user["oa_openid"] and mine[2]["language"] == "en"
    query["access_token"] = story.token(MP_APPID, MP_SECRET)
    mine, flasks = both(sandbox_app, "GET", "/cgi-bin/user/info", query=query)
    assert mine == flasks and mine[2]["errcode"] == 48001


def test_faults_are_the_same(sandbox_app: Flask, story: Story, taken: tuple[str, str]):
    token, encrypted = taken
    request = {"query": {"access_token": token}, "data": decrypt_body(encrypted)}
    story.fault("card/code/decrypt", errcode=45011, count=2)
    mine, flasks = both(sandbox_app, "POST", "/card/code/decrypt", **request)
    assert mine == flasks and mine[2]["errcode"] == 45011
    story.fault("card/code/decrypt", http_status=502, count=2)
    mine, flasks = both(sandbox_app, "POST", "/card/code/decrypt", **request)
    assert mine == flasks and mine[0].startswith("502")
    assert both(sandbox_app, "POST", "/card/code/decrypt", **request)[0][2]["errcode"] == 0


def test_failures_are_the_same(sandbox_app: Flask, taken: tuple[str, str],
                               monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture):
    token, encrypted = taken
    request = {"query": {"access_token": token}, "data": decrypt_body(encrypted)}

    def down(*args: Any) -> None:
        raise redis.ConnectionError("down")

    with monkeypatch.context() as m:
        m.setattr(crypto, "unseal", down)
        mine, flasks = both(sandbox_app, "POST", "/card/code/decrypt", **request)
    assert mine == flasks
    assert mine[0].startswith("503") and mine[2] == {"errcode": -1, "errmsg": "system error"}

    def bug(*args: Any) -> None:
        raise RuntimeError("a bug")

    with monkeypatch.context() as m:
        m.setattr(crypto, "unseal", bug)
        mine, flasks = both(sandbox_app, "POST", "/card/code/decrypt", **request)
    assert mine == flasks
    assert mine[0].startswith("500") and mine[2] == {"errcode": -1, "errmsg": "system error"}
    assert [r.message for r in caplog.records].count("sandbox error: RuntimeError") == 2


def test_what_flask_still_answers(sandbox_app: Flask, taken: tuple[str, str]):
    """A wrong method, or a body of unknown length, goes through Flask."""
    token, encrypted = taken
    wrong = answer(sandbox_app.wsgi_app, "GET", "/card/code/decrypt",
                   query={"access_token": token})
    assert wrong[0].startswith("405") and wrong[2]["errcode"] == 48001
    environ = EnvironBuilder(method="POST", path="/card/code/decrypt",
                             query_string={"access_token": token},
                             data=decrypt_body(encrypted)).get_environ()
    del environ["CONTENT_LENGTH"]
    environ["wsgi.input_terminated"] = True
    seen = []

    def start(status: str, headers: list, exc: Any = None) -> None:
        seen.append(status)

    assert json.loads(b"".join(sandbox_app.wsgi_app(environ, start)))["errcode"] == 0
    assert seen == ["200 OK"]


def test_a_lean_call_batches_its_pushes_and_sends_them_at_its_end(
        wx, story: Story, receiver: Receiver, sandbox_app: Flask,
        monkeypatch: pytest.MonkeyPatch):
    """push_reorder holds a call's pushes until its end, as it does for a Flask request."""
    held = []
    flush = push.flush_batch

    def counting(sb: Any) -> None:
        held.append(len(g.get(push._BATCH) or ()))
        flush(sb)

    monkeypatch.setattr(push, "flush_batch", counting)
    card_id = story.card()
    user, encrypted = story.take(card_id, signed_by="ticket")
    token = story.token()
    code = story.decrypt(token, encrypted)["code"]
    wx.put("/_sim/config", json={"push_reorder": True})
    before = len(receiver.received)
    consumed = answer(sandbox_app.wsgi_app, "POST", "/card/code/consume",
                      query={"access_token": token}, data=json.dumps({"code": code}).encode())
    assert consumed[2]["errcode"] == 0
    assert held[-1] == 1  # held back during the call
    assert len(receiver.received) == before + 1  # and sent at its end


def test_ok_writes_what_jsonify_writes(sandbox_app: Flask):
    from flask import jsonify

    fields: dict[str, Any] = {"code": "码", "z": 1, "a": [1.5, None, True], "nested": {"b": 2}}
    with sandbox_app.app_context():
        mine, flasks = ok(**fields), jsonify({"errcode": 0, "errmsg": "ok", **fields})
        assert mine.get_data() == flasks.get_data()
        assert mine.mimetype == flasks.mimetype and mine.status == flasks.status


def test_the_unsealing_cipher_is_cbc():
    """``unseal``'s CBC from one ECB object per key equals pycryptodome's CBC."""
    from Crypto.Cipher import AES

    key_b64 = crypto.new_code_key()
    key, ecb = crypto._code_cipher(key_b64)
    for size in (16, 32, 64, 160):
        iv, data = bytes(range(16)), bytes((i * 7) % 256 for i in range(size))
        assert crypto._cbc_decrypt(ecb, iv, data) == AES.new(key, AES.MODE_CBC, iv).decrypt(data)
    for text in ("1234567890", "x" * 15, "x" * 16, "码" * 9):
        assert crypto.unseal(key_b64, crypto.seal(key_b64, text)) == text


def test_the_first_handler_that_matches_is_the_one_flask_chooses():
    """Flask picks the handler of the most specific class; the table's order gives the same
    only while no handled class is a subclass of another but Exception, which is last."""
    from bff.sandbox import app as sandbox_app_module

    kinds = [kind for kind, _ in sandbox_app_module._ERROR_HANDLERS]
    assert kinds[-1] is Exception
    assert not any(issubclass(a, b) for a in kinds[:-1] for b in kinds[:-1] if a is not b)
