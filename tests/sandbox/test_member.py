"""Member cards: activation URL, plug-in form, activatetempinfo, activate, userinfo."""

from __future__ import annotations

from urllib.parse import quote, unquote, unquote_plus

from tests.story import Story

ACTIVATION = "https://mp.weixin.qq.com/bizmall/activatemembercard?action=preshow&&"


def extra_data(url: str) -> dict[str, str]:
    """What the Mini Program passes to the plug-in: each value percent-decoded exactly once."""
    assert url.startswith(ACTIVATION) and url.endswith("#wechat_redirect")
    query = url[len(ACTIVATION):-len("#wechat_redirect")]
    pairs = [p.split("=", 1) for p in query.split("&")]
    return {k: unquote(v) for k, v in pairs}


def test_geturl_shape(story: Story):
    card_id = story.card(card_type="MEMBER_CARD")
    url = story.call("/card/membercard/activate/geturl", story.token(),
                     {"card_id": card_id, "outer_str": "guide"})["url"]
    data = extra_data(url)
    assert list(data) == ["encrypt_card_id", "outer_str", "biz"]
    assert "+" in data["encrypt_card_id"] and data["encrypt_card_id"].endswith("==")
    assert "%2B" in url and data["outer_str"] == "guide" and data["biz"].endswith("==")
    # decoding a second time (as a form value) would turn "+" into a space
    assert unquote_plus(data["encrypt_card_id"]) != data["encrypt_card_id"]
    coupon = story.card()
    assert story.call("/card/membercard/activate/geturl", story.token(),
                      {"card_id": coupon})["errcode"] == 47001


def test_activation_flow(story: Story, wx, receiver):
    user = story.user()
    card_id = story.card(card_type="MEMBER_CARD")
    token = story.token()
    data = extra_data(story.call("/card/membercard/activate/geturl", token,
                                 {"card_id": card_id, "outer_str": "desk"})["url"])
    form = wx.post("/_sim/activation-form", json={
        "user": user["mp_openid"], **data,
        "fields": {"USER_FORM_INFO_FLAG_MOBILE": "13800138000",
                   "USER_FORM_INFO_FLAG_SEX": "MALE"},
        "custom_fields": {"Hobby": ["tea", "chess"]}})
    assert form.status_code == 200, form.get_json()
    form = form.get_json()
    assert form["card_id"] == card_id
    assert form["pushed"][0]["event"] == "user_get_card"  # took the card on the way
    assert story.decrypt(token, form["encrypt_code"])["code"] == form["code"]

    info = story.call("/card/membercard/activatetempinfo/get", token,
                      {"activate_ticket": form["activate_ticket"]})
    assert info["info"]["common_field_list"] == [
        {"name": "USER_FORM_INFO_FLAG_MOBILE", "value": "13800138000"},
        {"name": "USER_FORM_INFO_FLAG_SEX", "value": "MALE"}]
    assert info["info"]["custom_field_list"] == [
        {"name": "Hobby", "value": "", "value_list": ["tea", "chess"]}]

    bad = story.call("/card/membercard/activate", token, {"code": form["code"]})
    assert bad["errcode"] == 47001
    too_long = story.call("/card/membercard/activate", token,
                          {"code": form["code"], "membership_number": "1" * 21})
    assert too_long["errcode"] == 47001
    unknown = story.call("/card/membercard/activate", token,
                         {"code": "000000000000", "membership_number": "M1"})
    assert unknown["errcode"] == 40056
    done = story.call("/card/membercard/activate", token, {
        "code": form["code"], "card_id": card_id, "membership_number": "M0001",
        "init_bonus": 100, "init_balance": 200})
    assert done == {"errcode": 0, "errmsg": "ok"}

    member = story.call("/card/membercard/userinfo/get", token,
                        {"card_id": card_id, "code": form["code"]})
    assert member["openid"] == user["oa_openid"] and member["membership_number"] == "M0001"
    assert member["bonus"] == 100 and member["balance"] == 200 and member["has_active"] is True
    assert member["sex"] == "MALE" and member["user_card_status"] == "NORMAL"
    assert member["user_info"]["common_field_list"][0]["value"] == "13800138000"

    # a second form for a user who already holds the card reuses the code
    again = wx.post("/_sim/activation-form", json={"user": user["oa_openid"], **data,
                                                   "fields": {}}).get_json()
    assert again["code"] == form["code"] and again["pushed"] == []


def test_activate_ticket_expires(story: Story, wx):
    user, card_id = story.user(), story.card(card_type="MEMBER_CARD")
    token = story.token()
    data = extra_data(story.call("/card/membercard/activate/geturl", token,
                                 {"card_id": card_id, "outer_str": ""})["url"])
    ticket = wx.post("/_sim/activation-form", json={"user": user["oa_openid"], **data,
                                                    "fields": {}}).get_json()["activate_ticket"]
    wx.post("/_sim/clock", json={"advance_seconds": 1801})
    token = story.token()
    expired = story.call("/card/membercard/activatetempinfo/get", token,
                         {"activate_ticket": ticket})
    assert expired["errcode"] == 72012
    unknown = story.call("/card/membercard/activatetempinfo/get", token, {"activate_ticket": "x"})
    assert unknown["errcode"] == 72012


def test_activation_form_refuses_values_not_decoded_exactly_once(story: Story, wx):
    user, card_id = story.user(), story.card(card_type="MEMBER_CARD")
    data = extra_data(story.call("/card/membercard/activate/geturl", story.token(),
                                 {"card_id": card_id, "outer_str": "x"})["url"])

    def submit(**changes: str) -> int:
        body = {"user": user["oa_openid"], **data, "fields": {}, **changes}
        return wx.post("/_sim/activation-form", json=body).status_code

    assert submit(encrypt_card_id=quote(data["encrypt_card_id"], safe="")) == 400
    assert submit(encrypt_card_id=data["encrypt_card_id"].replace("+", " ")) == 400
    assert submit(biz=quote(data["biz"], safe="")) == 400
    assert submit(biz="MTIzNDU2Nzg5MA==") == 400
    assert submit() == 200
