"""Codes: decrypt, query, consume, deposit, check; QR codes, landing pages, whitelist."""

from __future__ import annotations

from urllib.parse import quote

from tests.catalogue.samples import coupon
from tests.sandbox.conftest import MP_APPID, MP_SECRET
from tests.story import Story


def issued(story: Story, **card: object) -> tuple[dict, str, str, str]:
    """(user, card_id, encrypt_code, code) of a freshly taken card."""
    card_id = story.card(**card)
    user, encrypted = story.take(card_id, signed_by="ticket")
    return user, card_id, encrypted, story.decrypt(story.token(), encrypted)["code"]


def test_decrypt_round_trip_only_for_the_issuing_appid(story: Story):
    _, _, encrypted, code = issued(story)
    assert "+" in encrypted and encrypted.endswith("=")
    assert story.decrypt(story.token(), encrypted) == {"errcode": 0, "errmsg": "ok", "code": code}
    other = story.decrypt(story.token(MP_APPID, MP_SECRET), encrypted)
    assert other.get("code") != code
    assert other["errcode"] == 40056


def test_percent_encoded_encrypt_code_decrypts_to_garbage(story: Story):
    _, _, encrypted, code = issued(story)
    token = story.token()
    garbage = story.decrypt(token, quote(encrypted, safe=""))
    assert garbage["errcode"] == 0 and garbage["code"] != code
    assert story.decrypt(token, quote(encrypted, safe=""))["code"] == garbage["code"]
    activate = story.call("/card/code/get", token, {"code": garbage["code"]})
    assert activate["errcode"] == 40056
    assert story.decrypt(token, "not base64 at all!")["errcode"] == 40056


def test_code_get_and_consume_once(story: Story):
    user, card_id, _, code = issued(story)
    token = story.token()
    got = story.call("/card/code/get", token, {"code": code, "check_consume": True})
    assert got["card"]["card_id"] == card_id and got["can_consume"] is True
    assert got["card"]["begin_time"] < got["card"]["end_time"]
    consumed = story.call("/card/code/consume", token, {"code": code})
    assert consumed == {"errcode": 0, "errmsg": "ok", "card": {"card_id": card_id},
                        "openid": user["oa_openid"]}
    assert story.call("/card/code/consume", token, {"code": code})["errcode"] == 40099
    again = story.call("/card/code/get", token, {"code": code, "check_consume": False})
    assert again["user_card_status"] == "CONSUMED" and again["can_consume"] is False
    assert story.call("/card/code/get", token,
                      {"code": code, "check_consume": True})["errcode"] == 40099
    # Absent check_consume means true, as WeChat's clients assume (they send it only when false).
    assert story.call("/card/code/get", token, {"code": code})["errcode"] == 40099
    assert story.call("/card/code/get", token, {"code": "999999999999"})["errcode"] == 40056


def test_custom_code_needs_card_id(story: Story):
    user, card_id = story.user(), story.card(use_custom_code=True)
    story.add_card(user["oa_openid"], card_id, story.card_ext(card_id, code="C-1"))
    token = story.token()
    assert story.call("/card/code/consume", token, {"code": "C-1"})["errcode"] == 40056
    consumed = story.call("/card/code/consume", token, {"code": "C-1", "card_id": card_id})
    assert consumed["errcode"] == 0


def test_deleted_code_cannot_be_consumed(story: Story, wx):
    user, card_id, _, code = issued(story)
    assert wx.post(f"/_sim/users/{user['oa_openid']}/cards/{code}/delete").status_code == 200
    token = story.token()
    assert story.call("/card/code/get", token,
                      {"code": code, "check_consume": True})["errcode"] == 40127
    assert story.call("/card/code/consume", token, {"code": code})["errcode"] == 40127


def test_deposit_count_and_check(story: Story):
    card_id = story.card(use_custom_code=True, get_custom_code_mode="GET_CUSTOM_CODE_MODE_DEPOSIT")
    token = story.token()
    answer = story.call("/card/code/deposit", token,
                        {"card_id": card_id, "code": ["A1", "A2", "", "x" * 129, "A1"]})
    assert answer["succ_code"] == ["A1", "A2"]
    assert answer["duplicate_code"] == ["A1"]
    assert answer["fail_code"] == ["", "x" * 129]
    again = story.call("/card/code/deposit", token, {"card_id": card_id, "code": ["A2", "A3"]})
    assert again["duplicate_code"] == ["A2"] and again["succ_code"] == ["A3"]
    too_many = story.call("/card/code/deposit", token,
                          {"card_id": card_id, "code": [f"B{i}" for i in range(101)]})
    assert too_many["errcode"] == 40109
    assert story.call("/card/code/getdepositcount", token, {"card_id": card_id})["count"] == 3
    check = story.call("/card/code/checkcode", token, {"card_id": card_id, "code": ["A1", "Z"]})
    assert check["exist_code"] == ["A1"] and check["not_exist_code"] == ["Z"]
    assert story.call("/card/code/checkcode", token,
                      {"card_id": card_id, "code": ["c"] * 101})["errcode"] == 40109


def test_qr_codes(story: Story):
    cards = [story.card() for _ in range(6)]
    token = story.token()
    single = story.call("/card/qrcode/create", token, {
        "action_name": "QR_CARD", "expire_seconds": 1800,
        "action_info": {"card": {"card_id": cards[0], "outer_str": "12b"}}})
    assert single["errcode"] == 0 and single["expire_seconds"] == 1800
    assert single["url"].startswith("http://weixin.qq.com/q/")
    assert single["show_qrcode_url"].endswith(quote(single["ticket"], safe=""))

    def multiple(n: int) -> dict:
        return story.call("/card/qrcode/create", token, {
            "action_name": "QR_MULTIPLE_CARD",
            "action_info": {"multiple_card": {"card_list": [{"card_id": c} for c in cards[:n]]}}})

    assert multiple(5)["errcode"] == 0
    assert multiple(6)["errcode"] == 40109
    for expire in (59, 1801):
        answer = story.call("/card/qrcode/create", token, {
            "action_name": "QR_CARD", "expire_seconds": expire,
            "action_info": {"card": {"card_id": cards[0]}}})
        assert answer["errcode"] == 40079
    unknown = story.call("/card/qrcode/create", token, {
        "action_name": "QR_CARD", "action_info": {"card": {"card_id": "p" + "0" * 27}}})
    assert unknown["errcode"] == 40073


def test_landing_page_and_article_html(story: Story):
    card_id = story.card()
    token = story.token()
    page = {"banner": "http://mmbiz.qpic.cn/x", "page_title": "Offers", "can_share": True,
            "scene": "SCENE_QRCODE", "card_list": [{"card_id": card_id, "thumb_url": "http://t"}]}
    answer = story.call("/card/landingpage/create", token, page)
    assert answer["errcode"] == 0 and answer["url"].startswith("https://mp.weixin.qq.com/")
    assert isinstance(answer["page_id"], int)
    assert story.call("/card/landingpage/create", token, page | {"scene": "SCENE_NOPE"})["errcode"]
    html = story.call("/card/mpnews/gethtml", token, {"card_id": card_id})
    assert "<iframe" in html["content"] and card_id in html["content"]


def test_test_whitelist_limit(story: Story):
    users = [story.user()["oa_openid"] for _ in range(6)]
    token = story.token()
    ok = story.call("/card/testwhitelist/set", token,
                    {"openid": users, "username": ["a", "b", "c", "d"]})
    assert ok["errcode"] == 0
    too_many = story.call("/card/testwhitelist/set", token,
                          {"openid": users, "username": ["a", "b", "c", "d", "e"]})
    assert too_many["errcode"] == 40109
    assert story.call("/card/testwhitelist/set", token, {"openid": ["o" * 28]})["errcode"] == 40003


def test_card_create_and_other_appids_cards(story: Story):
    token = story.token()
    created = story.call("/card/create", token, coupon("GROUPON"))
    assert created["errcode"] == 0 and created["card_id"].startswith("p")
    assert story.call("/card/create", token, {"card": {"card_type": "NOPE"}})["errcode"] == 40071
    mp_token = story.token(MP_APPID, MP_SECRET)
    assert story.call("/card/mpnews/gethtml", mp_token,
                      {"card_id": created["card_id"]})["errcode"] == 40073
