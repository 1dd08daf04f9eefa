"""access_token (classic and stable), api_tickets, logins and user info."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.sandbox.conftest import MP_APPID, MP_SECRET, OA_APPID, OA_SECRET
from tests.story import Story


def getticket(wx: FlaskClient, token: str | None, kind: str = "wx_card") -> dict:
    query = {"type": kind} | ({"access_token": token} if token is not None else {})
    return wx.get("/cgi-bin/ticket/getticket", query_string=query).get_json()


def stable(wx: FlaskClient, force: bool = False, secret: str = OA_SECRET) -> dict:
    return wx.post("/cgi-bin/stable_token", json={
        "grant_type": "client_credential", "appid": OA_APPID, "secret": secret,
        "force_refresh": force}).get_json()


def advance(wx: FlaskClient, seconds: float) -> None:
    assert wx.post("/_sim/clock", json={"advance_seconds": seconds}).status_code == 200


def test_classic_token_keeps_the_previous_one_for_the_overlap_only(wx, story: Story):
    first = story.token()
    second = story.token()
    assert first != second
    assert getticket(wx, first)["errcode"] == 0  # still inside the 5-minute overlap
    advance(wx, 301)
    assert getticket(wx, first)["errcode"] == 42001
    assert getticket(wx, second)["errcode"] == 0
    third = story.token()
    advance(wx, 301)
    assert getticket(wx, second)["errcode"] == 42001
    assert getticket(wx, third)["errcode"] == 0


def test_token_expires_after_7200_seconds(wx, story: Story):
    token = story.token()
    advance(wx, 7199)
    assert getticket(wx, token)["errcode"] == 0
    advance(wx, 2)
    assert getticket(wx, token)["errcode"] == 42001


def test_wrong_credentials(wx):
    def get(appid: str, secret: str) -> dict:
        return wx.get("/cgi-bin/token", query_string={
            "grant_type": "client_credential", "appid": appid, "secret": secret}).get_json()

    assert get(OA_APPID, "nope")["errcode"] == 40125
    assert get("wxunknown", OA_SECRET)["errcode"] == 40013
    assert stable(wx, secret="nope")["errcode"] == 40125


def test_missing_and_unknown_token(wx):
    assert getticket(wx, None)["errcode"] == 41001
    assert getticket(wx, "made-up")["errcode"] == 40001


def test_stable_token_is_the_same_while_valid_and_independent_of_classic(wx, story: Story):
    a = stable(wx)
    assert a["errcode"] == 0 and a["expires_in"] == 7200
    story.token()  # a classic token does not touch the stable one
    b = stable(wx)
    assert b["access_token"] == a["access_token"]
    assert getticket(wx, a["access_token"])["errcode"] == 0
    forced = stable(wx, force=True)
    assert forced["access_token"] != a["access_token"]
    assert getticket(wx, a["access_token"])["errcode"] == 40001
    assert stable(wx)["access_token"] == forced["access_token"]


def test_stable_token_renews_near_expiry(wx):
    a = stable(wx)["access_token"]
    advance(wx, 7200 - 200)
    b = stable(wx)["access_token"]
    assert b != a
    assert getticket(wx, a)["errcode"] == 0  # the old one runs out on its own


def test_tickets_per_type_and_stable_while_valid(wx, story: Story):
    token = story.token()
    card = getticket(wx, token, "wx_card")
    jsapi = getticket(wx, token, "jsapi")
    assert card["errcode"] == 0 and card["expires_in"] == 7200
    assert card["ticket"] != jsapi["ticket"]
    assert getticket(wx, story.token(), "wx_card")["ticket"] == card["ticket"]
    assert getticket(wx, token, "nope")["errcode"] == 40097
    assert wx.get("/_sim/tickets").get_json() == {"wx_card": card["ticket"],
                                                  "jsapi": jsapi["ticket"]}
    mp_ticket = getticket(wx, story.token(MP_APPID, MP_SECRET), "wx_card")["ticket"]
    assert mp_ticket != card["ticket"]  # tickets are per appid


def jscode2session(wx: FlaskClient, code: str) -> dict:
    return wx.get("/sns/jscode2session", query_string={
        "appid": MP_APPID, "secret": MP_SECRET, "js_code": code,
        "grant_type": "authorization_code"}).get_json()


def test_jscode2session_single_use(wx, story: Story):
    user = story.user()
    code = story.login_code(user["oa_openid"], "miniprogram")
    assert len(code) == 12 and code.isdigit()
    answer = jscode2session(wx, code)
    assert answer["openid"] == user["mp_openid"]
    assert answer["unionid"] == user["unionid"]
    assert len(answer["session_key"]) == 24
    assert jscode2session(wx, code)["errcode"] == 40163
    assert jscode2session(wx, "123456789012")["errcode"] == 40029


def test_login_codes_expire_and_belong_to_one_app(wx, story: Story):
    user = story.user(unionid=False)
    assert user["unionid"] is None
    h5_code = story.login_code(user["mp_openid"], "h5")
    assert jscode2session(wx, h5_code)["errcode"] == 40029
    code = story.login_code(user["mp_openid"], "miniprogram")
    advance(wx, 301)
    assert jscode2session(wx, code)["errcode"] == 40029
    fresh = jscode2session(wx, story.login_code(user["mp_openid"], "miniprogram"))
    assert "unionid" not in fresh


def test_web_authorization_gives_the_oa_openid(wx, story: Story):
    user = story.user()
    code = story.login_code(user["unionid"], "h5")
    answer = wx.get("/sns/oauth2/access_token", query_string={
        "appid": OA_APPID, "secret": OA_SECRET, "code": code,
        "grant_type": "authorization_code"}).get_json()
    assert answer["openid"] == user["oa_openid"]
    assert answer["scope"] == "snsapi_base" and answer["unionid"] == user["unionid"]


def test_user_info_knows_only_oa_openids(wx, story: Story):
    user = story.user()
    token = story.token()

    def info(openid: str) -> dict:
        return wx.get("/cgi-bin/user/info", query_string={
            "access_token": token, "openid": openid, "lang": "zh_CN"}).get_json()

    answer = info(user["oa_openid"])
    assert answer["subscribe"] == 1 and answer["unionid"] == user["unionid"]
    assert info(user["mp_openid"])["errcode"] == 40003
    assert info("o" + "x" * 27)["errcode"] == 40003


def test_ids_look_like_wechat_ids(story: Story):
    user = story.user()
    assert user["mp_openid"] != user["oa_openid"]
    assert all(len(user[k]) == 28 and user[k][0] == "o" for k in ("mp_openid", "oa_openid"))
    card_id = story.card()
    assert len(card_id) == 28 and card_id[0] == "p"


def test_a_calls_reading_of_the_clock_ends_with_the_call(wx, story: Story, sandbox_app):
    """A WeChat call reads the clock once, with its first round trip, and keeps that reading
    for the call only: after it, the clock moves again for everyone."""
    from bff.sandbox.web import EXTENSION

    sb = sandbox_app.extensions[EXTENSION]
    token = story.token()
    assert getticket(wx, token)["errcode"] == 0
    before = sb.clock.now()
    sb.r.incrbyfloat(sb.keys.clock, 7201)  # another worker moves the clock
    assert sb.clock.now() - before >= 7200  # not the reading the call above kept
    assert getticket(wx, token)["errcode"] == 42001
