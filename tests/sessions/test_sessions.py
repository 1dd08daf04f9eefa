"""Logging in from a Mini Program and an H5 page; tokens that are forged, expired or revoked."""

from __future__ import annotations

import logging
import time

import pytest

from bff.domain.sessions import store
from tests.story import bearer


def test_miniprogram_login_gives_a_token_and_links_the_unionid(story, client, redis_client):
    user = story.user()
    res = client.post("/v1/sessions/miniprogram", json={"code": story.login_code(user)})
    assert res.status_code == 201
    body = res.json
    assert set(body) == {"token", "expires_in", "openid"}
    assert body["openid"] == user["mp_openid"]
    assert "session_key" not in res.get_data(as_text=True)
    me = client.get("/v1/me", headers=bearer(body["token"])).json
    assert me["miniprogram_openid"] == user["mp_openid"]
    assert me["unionid"] == user["unionid"]
    assert story.calls("sns/jscode2session") == 1
    # the token is stored only as its hash; the session_key only sealed
    dump = " ".join(str(redis_client.hgetall(k)) + k for k in redis_client.keys("bff:session:*"))
    assert body["token"] not in dump


def test_h5_login_gives_the_official_account_openid(story, client):
    user = story.user()
    token = story.login(user, app="h5")
    me = client.get("/v1/me", headers=bearer(token)).json
    assert me["official_account_openid"] == user["oa_openid"]


def test_mp_and_h5_logins_with_one_unionid_link_both_openids(story, client):
    user = story.user()
    story.login(user, app="h5")
    token = story.login(user)
    me = client.get("/v1/me", headers=bearer(token)).json
    assert me == {"miniprogram_openid": user["mp_openid"],
                  "official_account_openid": user["oa_openid"],
                  "unionid": user["unionid"], "linked_by": "jscode2session"}


def test_a_user_without_unionid_has_no_oa_openid_yet(story, client):
    user = story.user(unionid=False)
    token = story.login(user)
    me = client.get("/v1/me", headers=bearer(token)).json
    assert me["official_account_openid"] is None and me["unionid"] is None


def test_login_code_errors_are_clear(story, client):
    user = story.user()
    code = story.login_code(user)
    assert client.post("/v1/sessions/miniprogram", json={"code": code}).status_code == 201
    again = client.post("/v1/sessions/miniprogram", json={"code": code})
    story.assert_error(again, 409, errcode=40163)
    bad = client.post("/v1/sessions/miniprogram", json={"code": "123456789012"})
    story.assert_error(bad, 401, errcode=40029)
    assert client.post("/v1/sessions/miniprogram", json={}).status_code == 422
    assert client.post("/v1/sessions/h5", json={"code": ""}).status_code == 422


@pytest.mark.parametrize("errcode,status", [(40226, 403), (45011, 429)])
def test_login_refusals_from_wechat(story, client, errcode, status):
    user = story.user()
    story.fault("/sns/jscode2session", errcode=errcode, count=1)
    res = client.post("/v1/sessions/miniprogram", json={"code": story.login_code(user)})
    assert res.status_code == status
    assert res.json["errcode"] == errcode
    if status == 429:
        assert int(res.headers["Retry-After"]) > 0


@pytest.mark.parametrize("header", [
    None, "Bearer", "Bearer not-a-real-token", "Basic abc", "Bearer " + "x" * 500,
])
def test_missing_or_forged_tokens_are_refused(client, header):
    headers = {"Authorization": header} if header else {}
    res = client.get("/v1/me", headers=headers)
    assert res.status_code == 401
    assert res.json["message"]


def test_a_revoked_token_is_refused(story, client):
    token = story.login(story.user())
    assert client.delete("/v1/sessions/current", headers=bearer(token)).status_code == 204
    assert client.get("/v1/me", headers=bearer(token)).status_code == 401
    assert client.delete("/v1/sessions/current", headers=bearer(token)).status_code == 401


def test_an_expired_token_is_refused(story, app, client):
    token = story.login(story.user())
    assert client.get("/v1/me", headers=bearer(token)).status_code == 200
    later = time.time() + 7 * 24 * 3600 + 1
    app.extensions["bff"].clock = lambda: later
    res = client.get("/v1/me", headers=bearer(token))
    assert res.status_code == 401
    assert "expired" in res.json["message"]


def test_the_session_expires_in_redis_too(story, redis_client):
    token = story.login(story.user())
    ttl = redis_client.ttl(f"bff:session:{store.token_id_of(token)}")
    assert 0 < ttl <= 7 * 24 * 3600


def test_session_key_and_token_never_reach_the_logs(story, client, caplog, redis_client):
    caplog.set_level(logging.DEBUG)
    user = story.user()
    token = story.login(user)
    client.get("/v1/me", headers=bearer(token))
    sealed = redis_client.hget(f"bff:session:{store.token_id_of(token)}", "sk")
    assert sealed
    for record in caplog.records:
        text = record.getMessage()
        assert token not in text and sealed not in text
        assert user["mp_openid"] not in text and user["unionid"] not in text


def test_session_key_is_sealed_and_recoverable_only_with_the_data_key(
        story, app, redis_client):
    token = story.login(story.user())
    sealed = redis_client.hget(f"bff:session:{store.token_id_of(token)}", "sk")
    settings = app.extensions["bff"].settings
    assert len(store.unseal_session_key(settings, sealed)) == 24  # base64 of 16 bytes
