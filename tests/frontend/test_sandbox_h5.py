"""The sandbox's side of an H5 page: web authorization, the bridge script and what it calls."""

from __future__ import annotations

import hashlib
import json
from urllib.parse import parse_qs, urlsplit

import pytest

from bff.sandbox import SandboxConfig, create_sandbox_app
from tests.story import bearer

PAGE = "http://localhost:8000/demo/cards.html?x=1"


def config_signature(ticket: str, nonce: str, timestamp: str, url: str) -> str:
    plain = f"jsapi_ticket={ticket}&noncestr={nonce}&timestamp={timestamp}&url={url}"
    return hashlib.sha1(plain.encode()).hexdigest()


def verify(client, **body) -> str:
    res = client.post("/sandbox/_sim/jsapi/config", json=body)
    assert res.status_code == 200, res.json
    return res.json["result"]


def test_wx_config_is_checked_against_the_sandboxs_jsapi_ticket(story, client):
    token = story.login(story.user())
    signed = client.post("/v1/jssdk/config", json={"url": PAGE + "#top"},
                         headers=bearer(token)).json
    body = {"url": PAGE + "#elsewhere", "appId": signed["appId"], "nonceStr": signed["nonceStr"],
            "timestamp": str(signed["timestamp"]), "signature": signed["signature"]}
    assert verify(client, **body) == "ok"  # the fragment is not signed
    assert verify(client, **(body | {"url": PAGE + "&y=2"})) == "invalid signature"
    assert verify(client, **(body | {"signature": "0" * 40})) == "invalid signature"
    assert verify(client, **(body | {"appId": "wxsomeoneelse"})) == "invalid appid"
    assert verify(client, **(body | {"url": "http://evil.example/demo/"})) == "invalid url domain"
    # The sandbox's own computation, not the BFF's: the ticket comes from the sandbox.
    ticket = client.get("/sandbox/_sim/tickets").json["jsapi"]
    mine = config_signature(ticket, "n0nce", "1700000000", PAGE)
    assert verify(client, **(body | {"nonceStr": "n0nce", "timestamp": "1700000000",
                                     "signature": mine})) == "ok"


@pytest.mark.parametrize("body", [{}, {"url": 5}, {"url": PAGE, "signature": ["x"]},
                                  {"url": "x" * 5000}])
def test_wx_config_check_refuses_malformed_bodies_with_400(client, body):
    assert client.post("/sandbox/_sim/jsapi/config", json=body).status_code == 400
    assert client.post("/sandbox/_sim/jsapi/config", data="[1]").status_code == 400


def test_choose_card_lists_usable_cards_only_with_a_good_card_sign(story, client):
    user = story.user()
    token = story.login(user)
    card_id = story.card(card_type="GROUPON")
    story.take(card_id, user, token=token)
    signed = client.post("/v1/cards/choose-card", json={"card_type": "GROUPON"},
                         headers=bearer(token)).json
    body = {"user": user["mp_openid"], "app_id": client.application.extensions["bff"]
            .settings.appid, "location_id": signed["shopId"], "card_id": signed["cardId"],
            "card_type": signed["cardType"], "time_stamp": signed["timestamp"],
            "nonce_str": signed["nonceStr"], "card_sign": signed["cardSign"]}
    good = client.post("/sandbox/_sim/choose-card", json=body).json
    assert good["sign_ok"] is True and [c["card_id"] for c in good["cards"]] == [card_id]
    code = client.post("/v1/cards/codes/decrypt", json={"encrypt_code": good["cards"][0][
        "encrypt_code"]}, headers=bearer(token)).json["code"]
    assert code.isdigit()
    bad = client.post("/sandbox/_sim/choose-card", json=body | {"card_sign": "f" * 40}).json
    assert bad == {"sign_ok": False, "cards": []}  # WeChat: an empty list, not an error
    other = client.post("/sandbox/_sim/choose-card", json=body | {"card_type": "CASH"}).json
    assert other["cards"] == [] and other["sign_ok"] is False  # card_type is signed too


def test_open_card_shows_only_the_users_own_codes_and_pushes_a_view(story, client):
    user, stranger = story.user(), story.user()
    token = story.login(user)
    card_id = story.card()
    code = story.my_code(token, story.take(card_id, user, token=token)[1])
    mine = client.post("/sandbox/_sim/open-card", json={
        "user": user["oa_openid"], "card_list": [{"card_id": card_id, "code": code}]}).json
    assert mine["card_list"][0]["opened"] is True
    assert mine["card_list"][0]["user_card_status"] == "NORMAL"
    assert mine["pushed"] and mine["pushed"][0]["event"] == "user_view_card"
    theirs = client.post("/sandbox/_sim/open-card", json={
        "user": stranger["oa_openid"], "card_list": [{"card_id": card_id, "code": code}]}).json
    assert theirs["card_list"][0]["opened"] is False and theirs["pushed"] == []
    for bad in ({"user": user["oa_openid"]}, {"user": user["oa_openid"], "card_list": [3]},
                {"user": user["oa_openid"], "card_list": [{"card_id": card_id}]}):
        assert client.post("/sandbox/_sim/open-card", json=bad).status_code == 400
    unknown = {"user": "nobody", "card_list": [{"card_id": card_id, "code": code}]}
    assert client.post("/sandbox/_sim/open-card", json=unknown).status_code == 404


def authorize_query(client, **override) -> dict:
    appid = client.application.extensions["bff"].settings.appid
    return {"appid": appid, "redirect_uri": "http://localhost:8000/demo/?from=wx",
            "response_type": "code", "scope": "snsapi_base", "state": "s1"} | override


def test_authorize_lets_a_person_pick_a_user_and_comes_back_with_a_login_code(story, client):
    user = story.user()
    query = authorize_query(client)
    page = client.get("/sandbox/connect/oauth2/authorize", query_string=query)
    assert page.status_code == 200 and user["oa_openid"] in page.get_data(as_text=True)
    res = client.post("/sandbox/connect/oauth2/authorize", data=query | {"user": user[
        "oa_openid"]})
    assert res.status_code == 302
    target = urlsplit(res.headers["Location"])
    assert (target.hostname, target.path) == ("localhost", "/demo/")
    got = parse_qs(target.query)
    assert got["state"] == ["s1"] and got["from"] == ["wx"] and got["code"][0].isdigit()
    session = client.post("/v1/sessions/h5", json={"code": got["code"][0]})
    assert session.status_code == 201 and session.json["openid"] == user["oa_openid"]
    # The bridge served to this browser now acts as that user.
    bridge = client.get("/sandbox/jsbridge.js")
    assert bridge.headers["Cache-Control"] == "no-store"
    assert f'"chosenUser": "{user["oa_openid"]}"' in bridge.get_data(as_text=True)


def test_authorize_can_create_a_new_user(client):
    res = client.post("/sandbox/connect/oauth2/authorize",
                      data=authorize_query(client) | {"user": "new"})
    code = parse_qs(urlsplit(res.headers["Location"]).query)["code"][0]
    session = client.post("/v1/sessions/h5", json={"code": code})
    assert session.status_code == 201 and session.json["openid"].startswith("o")


@pytest.mark.parametrize("override", [
    {"appid": "wxother"}, {"redirect_uri": "https://evil.example/steal"},
    {"redirect_uri": "javascript:alert(1)"}, {"redirect_uri": ""}, {"scope": "snsapi_all"},
    {"response_type": "token"}, {"state": "s" * 200},
])
def test_authorize_refuses_what_wechat_refuses(client, override):
    query = authorize_query(client, **override)
    page = client.get("/sandbox/connect/oauth2/authorize", query_string=query)
    assert page.status_code == 400 and b"authorize-problem" in page.data
    res = client.post("/sandbox/connect/oauth2/authorize", data=query | {"user": "new"})
    assert res.status_code == 400 and "Location" not in res.headers


def test_authorize_refuses_an_unknown_user(client):
    res = client.post("/sandbox/connect/oauth2/authorize",
                      data=authorize_query(client) | {"user": "o<script>"})
    assert res.status_code == 400 and b"<script>" not in res.data


def test_bridge_ignores_a_cookie_that_is_not_a_known_user(client):
    client.set_cookie("wxsandbox_user", 'x"; alert(1); "', path="/sandbox/")
    text = client.get("/sandbox/jsbridge.js").get_data(as_text=True)
    assert '"chosenUser": null' in text and "alert" not in text


def test_standalone_sandbox_serves_the_bridge_with_its_own_appid(redis_client):
    app = create_sandbox_app(redis_client, SandboxConfig(
        oa_appid="wxa", oa_secret="s", mp_appid="wxm", mp_secret="t", push_token="p",
        push_aes_key="k" * 43))
    text = app.test_client().get("/jsbridge.js").get_data(as_text=True)
    assert json.loads(text.split("var SETTINGS = ", 1)[1].split(";\n", 1)[0])["appId"] == "wxa"


def test_outside_sandbox_mode_there_is_no_demo_and_no_bridge(redis_url, monkeypatch):
    from bff import create_app
    from bff.ground import config as c

    app = create_app({
        "sandbox": False, "appid": c.SANDBOX_APPID, "secret": c.SANDBOX_SECRET,
        "miniprogram_appid": c.SANDBOX_MP_APPID, "miniprogram_secret": c.SANDBOX_MP_SECRET,
        "push_token": c.SANDBOX_PUSH_TOKEN, "push_aes_key": c.SANDBOX_PUSH_AES_KEY,
        "redis_url": redis_url, "admin_token": c.SANDBOX_ADMIN_TOKEN + "-" * 13,  # 32 chars
        "data_key": c.SANDBOX_DATA_KEY})
    client = app.test_client()
    for path in ("/demo/", "/demo/config.json", "/demo/staff.html", "/sandbox/jsbridge.js",
                 "/sandbox/connect/oauth2/authorize"):
        answer = client.get(path)
        assert answer.status_code == 404, path
        assert c.SANDBOX_ADMIN_TOKEN not in answer.get_data(as_text=True)


def test_a_login_code_names_its_user_and_unknown_codes_are_404(story, client):
    user = story.user()
    code = client.post("/sandbox/_sim/login-codes", json={"user": user["mp_openid"],
                                                          "app": "h5"}).json["code"]
    got = client.get(f"/sandbox/_sim/login-codes/{code}").json
    assert got == {"app": "h5", "oa_openid": user["oa_openid"], "mp_openid": user["mp_openid"]}
    assert client.post("/v1/sessions/h5", json={"code": code}).status_code == 201  # still good
    for bad in ("000000000000", "x" * 100, "%00"):
        assert client.get(f"/sandbox/_sim/login-codes/{bad}").status_code == 404


@pytest.mark.parametrize("body", [
    {}, {"user": 5}, {"user": "nobody"}, {"user": None, "card_sign": "x"},
])
def test_choose_card_refuses_malformed_or_unknown_users(client, body):
    assert client.post("/sandbox/_sim/choose-card", json=body).status_code == 404  # no such user


def test_choose_card_refuses_wrongly_typed_fields_with_400(story, client):
    user = story.user()
    for field, value in (("card_sign", 5), ("time_stamp", 1.5), ("card_id", ["x"]),
                         ("app_id", {"a": 1}), ("nonce_str", "n" * 3000)):
        res = client.post("/sandbox/_sim/choose-card", json={"user": user["oa_openid"],
                                                             field: value})
        assert res.status_code == 400, (field, res.json)
