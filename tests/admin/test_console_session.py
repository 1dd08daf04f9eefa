"""The console's session: a cookie and a CSRF token for an operator's token, renewed on use,
ended by sign-out, idleness, and the operator's removal or rotation."""

from __future__ import annotations

import json
import logging
import time

import pytest

from bff.ground.config import SANDBOX_ADMIN_TOKEN
from tests.story import Story, bearer

SESSION = "/v1/admin/session"


def token_of(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


def cookie_header(response) -> str:
    [header] = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("bff_console=")]
    return header


def test_signing_in_sets_an_httponly_strict_cookie_and_answers_who_and_the_csrf_token(
        story, client):
    token = token_of(story.operator("till", "staff"))
    res = client.post(SESSION, json={"token": token})
    assert res.status_code == 201, res.json
    assert res.json["operator"] == {"name": "till", "role": "staff"}
    assert len(res.json["csrf_token"]) >= 32 and res.json["idle_timeout"] == 1800
    header = cookie_header(res)
    parts = {p.strip().split("=")[0].lower() for p in header.split(";")}
    assert {"httponly", "path"} <= parts and "samesite=strict" in header.lower()
    assert "path=/" in header.lower() and "secure" not in parts  # loopback: plain http works
    assert token not in header and token not in res.get_data(as_text=True)

    again = client.get(SESSION)
    assert again.status_code == 200 and again.json == res.json


def test_the_cookie_is_secure_on_any_host_but_loopback(story, client):
    token = token_of(story.operator("till", "staff"))
    for base, secure in (("http://127.0.0.1", False), ("http://[::1]:5000", False),
                         ("https://bff.example.com", True), ("http://10.0.0.8", True)):
        res = client.post(SESSION, json={"token": token}, base_url=base)
        assert res.status_code == 201, (base, res.json)
        parts = {p.strip().lower() for p in cookie_header(res).split(";")}
        assert ("secure" in parts) is secure, base


@pytest.fixture
def three_guesses(settings_overrides):
    settings_overrides["limit_address_failures"] = "3/minute"


def test_a_bad_token_is_401_and_repeated_guesses_are_rate_limited(three_guesses, story, client):
    assert story.sign_in(SANDBOX_ADMIN_TOKEN)  # a success costs nothing
    for _ in range(3):
        res = client.post(SESSION, json={"token": "bffop_guess"})
        story.assert_error(res, 401)
        assert "bff_console" not in res.headers.get("Set-Cookie", "")
    refused = client.post(SESSION, json={"token": SANDBOX_ADMIN_TOKEN})
    story.assert_error(refused, 429)
    assert refused.headers["Retry-After"]


def test_break_glass_signs_in_as_admin(story, client):
    assert story.sign_in(SANDBOX_ADMIN_TOKEN)["operator"] == {"name": "break-glass",
                                                               "role": "admin"}


def test_without_a_session_get_and_delete_are_401(story, client):
    story.assert_error(client.get(SESSION), 401)
    story.assert_error(client.delete(SESSION), 401)
    client.set_cookie("bff_console", "not-a-session")
    story.assert_error(client.get(SESSION), 401)
    story.assert_error(client.get("/v1/admin/events"), 401)


def test_a_cookie_request_that_changes_state_needs_the_sessions_csrf_token(story, client):
    csrf = story.sign_in(token_of(story.operator("boss", "admin")))["csrf_token"]
    body = {"openid": [], "username": []}
    assert client.get("/v1/admin/events").status_code == 200  # reads need none
    story.assert_error(client.put("/v1/admin/test-whitelist", json=body), 403,
                       message="X-CSRF-Token")
    story.assert_error(client.put("/v1/admin/test-whitelist", json=body,
                                  headers={"X-CSRF-Token": csrf[:-1] + "x"}), 403)
    other = story.app.test_client()  # another session's token is not this one's
    other_csrf = Story(other).sign_in(SANDBOX_ADMIN_TOKEN)["csrf_token"]
    story.assert_error(client.put("/v1/admin/test-whitelist", json=body,
                                  headers={"X-CSRF-Token": other_csrf}), 403)
    res = client.put("/v1/admin/test-whitelist", json=body, headers={"X-CSRF-Token": csrf})
    assert res.status_code == 200, res.json
    # a bearer token needs no CSRF token (a browser never sends it by itself)
    res = client.put("/v1/admin/test-whitelist", json=body, headers=bearer(SANDBOX_ADMIN_TOKEN))
    assert res.status_code == 200, res.json


def test_signing_out_ends_the_session_on_the_server(story, client, redis_client):
    csrf = story.sign_in(token_of(story.operator("till", "staff")))["csrf_token"]
    cookie = client.get_cookie("bff_console").value
    story.assert_error(client.delete(SESSION), 403)  # sign-out changes state: CSRF too
    res = client.delete(SESSION, headers={"X-CSRF-Token": csrf})
    assert res.status_code == 204
    assert "bff_console=;" in cookie_header(res)  # the browser forgets it
    assert not [k for k in redis_client.scan_iter(match="bff:{operators}:console:*")]
    client.set_cookie("bff_console", cookie)  # replayed: dead
    story.assert_error(client.get(SESSION), 401)
    story.assert_error(client.post("/v1/admin/codes/query", json={"code": "1"},
                                   headers={"X-CSRF-Token": csrf}), 401)


def test_signing_in_again_ends_the_previous_session_of_that_browser(story, client,
                                                                    redis_client):
    token = token_of(story.operator("till", "staff"))
    story.sign_in(token)
    first = client.get_cookie("bff_console").value
    story.sign_in(token)
    assert client.get_cookie("bff_console").value != first
    assert len(list(redis_client.scan_iter(match="bff:{operators}:console:*"))) == 1


@pytest.mark.parametrize("command", ["rotate", "remove"])
def test_rotating_or_removing_an_operator_ends_its_token_and_sessions(
        story, client, runner, redis_client, command):
    headers = story.operator("till", "staff")
    story.sign_in(token_of(headers))
    other = story.app.test_client()
    Story(other).sign_in(token_of(headers))
    keep = story.operator("other", "staff")  # another operator is untouched
    assert client.post("/v1/admin/codes/query", json={"code": "1"},
                       headers=headers).status_code != 401
    res = runner.invoke(args=["operators", command, "till"])
    assert res.exit_code == 0, res.output
    for c in (client, other):
        story.assert_error(c.get(SESSION), 401)
    story.assert_error(client.post("/v1/admin/codes/query", json={"code": "1"},
                                   headers=headers), 401)
    assert not list(redis_client.scan_iter(match="bff:{operators}:console:*"))
    assert client.post("/v1/admin/codes/query", json={"code": "1"},
                       headers=keep).status_code != 401
    if command == "rotate":
        new = bearer(json.loads(res.stdout)["token"])
        assert new != headers
        assert client.post("/v1/admin/codes/query", json={"code": "1"},
                           headers=new).status_code != 401


@pytest.fixture
def short_idle(settings_overrides):
    settings_overrides["console_idle_seconds"] = 2


@pytest.mark.slow  # waits out a real idle time (about 5 s): run with --long and in CI
def test_a_session_unused_for_the_idle_time_expires_and_use_renews_it(
        short_idle, story, client, redis_client):
    answer = story.sign_in(SANDBOX_ADMIN_TOKEN)
    assert answer["idle_timeout"] == 2
    [key] = redis_client.scan_iter(match="bff:{operators}:console:*")
    assert 0 < redis_client.ttl(key) <= 2
    time.sleep(1.2)
    assert client.get("/v1/admin/events").status_code == 200  # renewed
    time.sleep(1.2)  # 2.4 s after sign-in, 1.2 s after the last use
    assert client.get(SESSION).status_code == 200
    time.sleep(2.5)
    story.assert_error(client.get(SESSION), 401)


def test_the_token_is_in_no_answer_and_no_log_line(story, client, caplog):
    token = token_of(story.operator("till", "staff"))
    with caplog.at_level(logging.DEBUG):
        signed = client.post(SESSION, json={"token": token})
        asked = client.get(SESSION)
        refused = client.post(SESSION, json={"token": token + "x"})
    for res in (signed, asked, refused):
        assert token not in res.get_data(as_text=True)
        assert token not in str(res.headers)
    assert token not in caplog.text


def test_a_session_in_constant_use_still_ends_after_its_longest_life(story, client,
                                                                    monkeypatch):
    from bff.domain import operators

    story.sign_in(SANDBOX_ADMIN_TOKEN)
    assert client.get("/v1/admin/session").status_code == 200
    monkeypatch.setattr(operators, "MAX_SESSION_SECONDS", -1)  # as if a day had passed
    assert client.get("/v1/admin/session").status_code == 401
    monkeypatch.setattr(operators, "MAX_SESSION_SECONDS", 12 * 3600)
    assert client.get("/v1/admin/session").status_code == 401  # ended, not just refused
