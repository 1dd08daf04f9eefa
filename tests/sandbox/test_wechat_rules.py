"""WeChat's rules the sandbox follows (validity, deposit stock, article HTML, UTF-8 bodies,
optional nonce_str, not-simulated paths, colours) and the channels users take cards through
(scanning a card QR code, a landing page)."""

from __future__ import annotations

import json
import time

from tests.sandbox.test_push_timing import events
from tests.story import Story, card_ext_signature

DAY = 86400


def taken_code(story: Story, card_id: str, user: dict | None = None) -> tuple[dict, str]:
    user, encrypted = story.take(card_id, user, signed_by="ticket")
    return user, story.decrypt(story.token(), encrypted)["code"]


def test_a_code_not_yet_valid_cannot_be_consumed(story: Story, wx):
    now = int(wx.get("/_sim/clock").get_json()["now"])
    card_id = story.card(date_info={"type": "DATE_TYPE_FIX_TIME_RANGE",
                                    "begin_timestamp": now + DAY, "end_timestamp": now + 9 * DAY})
    user, code = taken_code(story, card_id)
    token = story.token()
    got = story.call("/card/code/get", token, {"code": code})
    assert got["can_consume"] is False and got["card"]["begin_time"] == now + DAY
    assert story.call("/card/code/consume", token, {"code": code})["errcode"] == 40079
    gone = wx.post(f"/_sim/users/{user['oa_openid']}/cards/{code}/consume", json={})
    assert gone.status_code == 409 and "not valid yet" in gone.get_json()["message"]
    wx.post("/_sim/clock", json={"advance_seconds": DAY + 1})
    token = story.token()
    assert story.call("/card/code/get", token, {"code": code})["can_consume"] is True
    assert story.call("/card/code/consume", token, {"code": code})["errcode"] == 0


def test_fixed_begin_term_delays_validity_after_receipt(story: Story, wx):
    card_id = story.card(date_info={"type": "DATE_TYPE_FIX_TERM", "fixed_term": 10,
                                    "fixed_begin_term": 2})
    _, code = taken_code(story, card_id)
    token = story.token()
    got = story.call("/card/code/get", token, {"code": code})
    begin, end = got["card"]["begin_time"], got["card"]["end_time"]
    assert begin - time.time() > 2 * DAY - 60 and end - begin == 10 * DAY
    assert story.call("/card/code/consume", token, {"code": code})["errcode"] == 40079
    wx.post("/_sim/clock", json={"advance_seconds": 2 * DAY + 60})
    assert story.call("/card/code/consume", story.token(), {"code": code})["errcode"] == 0


def test_deposit_mode_stock_stays_within_the_imported_codes(story: Story):
    token = story.token()
    card_id = story.deposit_card()
    deposited = story.call("/card/code/deposit", token,
                           {"card_id": card_id, "code": ["D-1", "D-2", "D-3"]})
    assert deposited["succ_code"] == ["D-1", "D-2", "D-3"]

    def raise_by(n: int) -> int:
        return story.call("/card/modifystock", token,
                          {"card_id": card_id, "increase_stock_value": n})["errcode"]

    assert raise_by(4) == 40122
    assert raise_by(3) == 0
    assert raise_by(1) == 40122
    taken_code(story, card_id)  # one code issued: one fewer left to back the stock
    assert raise_by(1) == 40122
    stock = story.call("/card/get", token, {"card_id": card_id})["card"]["groupon"]["base_info"]
    assert stock["sku"]["quantity"] == 2
    assert story.call("/card/modifystock", token,
                      {"card_id": card_id, "reduce_stock_value": 1})["errcode"] == 0
    assert raise_by(1) == 0
    assert story.call("/card/modifystock", token,
                      {"card_id": story.card(), "increase_stock_value": 5})["errcode"] == 0


def test_article_html_of_a_custom_code_card_needs_imported_codes(story: Story):
    token = story.token()
    custom = story.card(use_custom_code=True)
    refused = story.call("/card/mpnews/gethtml", token, {"card_id": custom})
    assert refused["errcode"] == 47001 and "imported codes" in refused["errmsg"]
    story.call("/card/code/deposit", token, {"card_id": custom, "code": ["C-1"]})
    assert story.call("/card/mpnews/gethtml", token, {"card_id": custom})["errcode"] == 0
    assert story.call("/card/mpnews/gethtml", token, {"card_id": story.card()})["errcode"] == 0


def test_a_body_that_is_not_utf8_is_refused(story: Story, wx):
    token = story.token()
    card_id = story.card()
    body = json.dumps({"card_id": card_id, "title": "双人套餐"}, ensure_ascii=False)
    for encoding in ("gbk", "utf-16"):
        answer = wx.post(f"/card/get?access_token={token}", data=body.encode(encoding),
                         content_type="application/json")
        assert answer.get_json() == {"errcode": 47001,
                                     "errmsg": "data format error: the body is not UTF-8"}
    good = wx.post(f"/card/get?access_token={token}", data=body.encode("utf-8"))
    assert good.get_json()["errcode"] == 0
    sim = wx.post("/_sim/users", data='{"nickname": "小明"}'.encode("gbk"))
    assert sim.status_code == 400 and "UTF-8" in sim.get_json()["message"]


def test_card_ext_without_nonce_str_is_signed_over_the_fields_present(story: Story):
    user, card_id = story.user(), story.card()
    ticket, timestamp = story.wx_card_ticket(), str(int(time.time()))
    ext = json.dumps({"timestamp": timestamp,
                      "signature": card_ext_signature(ticket, timestamp, card_id)})
    [ok] = story.add_card(user, card_id, ext)["card_list"]
    assert ok["isSuccess"], ok
    [again] = story.add_card(user, card_id, ext)["card_list"]
    assert again["errcode"] == 40080 and "already used" in again["errmsg"]
    forged = json.dumps({"timestamp": timestamp, "signature": "0" * 40})
    assert story.add_card(user, card_id, forged)["card_list"][0]["errcode"] == 40080


def test_a_path_the_sandbox_does_not_simulate_is_no_system_busy(story: Story, wx):
    token = story.token()
    answer = wx.post(f"/card/invoice/setbizattr?access_token={token}", json={})
    body = answer.get_json()
    assert body["errcode"] == 48001 and body["errcode"] != -1
    assert "/card/invoice/setbizattr" in body["errmsg"] and "not simulated" in body["errmsg"]
    assert wx.put("/card/create", json={}).get_json()["errcode"] == 48001


def test_card_colors(story: Story, wx):
    token = story.token()
    answer = wx.get(f"/card/getcolors?access_token={token}").get_json()
    assert answer["errcode"] == 0
    names = [c["name"] for c in answer["colors"]]
    assert names[0] == "Color010" and names[-1] == "Color100" and len(names) == 12
    assert all(c["value"].startswith("#") and len(c["value"]) == 7 for c in answer["colors"])
    assert wx.get("/card/getcolors").get_json()["errcode"] == 41001


def qrcode(story: Story, *cards: dict, **body: object) -> str:
    action = ({"action_name": "QR_CARD", "action_info": {"card": cards[0]}} if len(cards) == 1
              else {"action_name": "QR_MULTIPLE_CARD",
                    "action_info": {"multiple_card": {"card_list": list(cards)}}})
    answer = story.call("/card/qrcode/create", story.token(), {**action, **body})
    assert answer["errcode"] == 0, answer
    return answer["ticket"]


def test_scanning_a_qr_code_takes_its_card_with_the_channel(story: Story, wx, receiver):
    card_id = story.card()
    ticket = qrcode(story, {"card_id": card_id, "outer_str": "poster-9", "outer_id": 7})
    user = story.user()
    answer = story.sim("scan-qrcode", {"user": user["mp_openid"], "ticket": ticket})
    assert answer["card_id"] == card_id and answer["pushed"][0]["delivered"]
    assert story.decrypt(story.token(), answer["encrypt_code"])["code"] == answer["code"]
    [event] = events(receiver)
    assert (event["Event"], event["SourceScene"], event["OuterStr"], event["OuterId"]) == (
        "user_get_card", "SOURCE_SCENE_QRCODE", "poster-9", "7")
    assert event["UserCardCode"] == answer["code"]
    # an ordinary QR code is scanned by many
    assert story.sim("scan-qrcode", {"user": story.user()["oa_openid"], "ticket": ticket})
    bad = story.call("/card/qrcode/create", story.token(), {
        "action_name": "QR_CARD", "action_info": {"card": {"card_id": card_id,
                                                           "outer_id": "seven"}}})
    assert bad["errcode"] == 47001


def test_a_unique_code_or_code_qr_gives_its_card_once(story: Story, wx):
    first, second = story.user(), story.user()
    for entry in ({"card_id": story.card(), "is_unique_code": True},
                  {"card_id": story.card(use_custom_code=True), "code": "QR-0001"}):
        ticket = qrcode(story, entry)
        taken = story.sim("scan-qrcode", {"user": first["oa_openid"], "ticket": ticket})
        if "code" in entry:
            assert taken["code"] == "QR-0001"
        again = wx.post("/_sim/scan-qrcode", json={"user": second["oa_openid"],
                                                    "ticket": ticket})
        assert again.status_code == 409 and "once" in again.get_json()["message"]


def test_qr_code_limits_openid_expiry_and_choice(story: Story, wx):
    owner, other = story.user(), story.user()
    bound = story.card(bind_openid=True)
    ticket = qrcode(story, {"card_id": bound, "openid": owner["oa_openid"]})
    refused = wx.post("/_sim/scan-qrcode", json={"user": other["oa_openid"], "ticket": ticket})
    assert refused.status_code == 409 and "another user" in refused.get_json()["message"]
    assert story.sim("scan-qrcode", {"user": owner["oa_openid"], "ticket": ticket})
    two = [story.card(), story.card()]
    ticket = qrcode(story, *({"card_id": c} for c in two), expire_seconds=60)
    picked = story.sim("scan-qrcode", {"user": other["oa_openid"], "ticket": ticket,
                                       "card_id": two[1]})
    assert picked["card_id"] == two[1]
    wx.post("/_sim/clock", json={"advance_seconds": 61})
    late = wx.post("/_sim/scan-qrcode", json={"user": other["oa_openid"], "ticket": ticket})
    assert late.status_code == 409 and "expired" in late.get_json()["message"]
    unknown = wx.post("/_sim/scan-qrcode", json={"user": other["oa_openid"], "ticket": "nope"})
    assert unknown.status_code == 404


def test_taking_a_card_from_a_landing_page(story: Story, wx, receiver):
    cards = [story.card(), story.card()]
    page = story.call("/card/landingpage/create", story.token(), {
        "banner": "http://mmbiz.qpic.cn/banner.jpg", "page_title": "Offers", "can_share": True,
        "scene": "SCENE_H5",
        "card_list": [{"card_id": c, "thumb_url": "http://mmbiz.qpic.cn/t.jpg"} for c in cards]})
    user = story.user()
    url = page["url"].replace("#wechat_redirect", "&outer_str=banner-3#wechat_redirect")
    taken = story.sim("take-from-landing-page", {"user": user["oa_openid"], "url": url,
                                                 "card_id": cards[1]})
    assert taken["card_id"] == cards[1]
    by_id = story.sim("take-from-landing-page", {"user": user["oa_openid"],
                                                 "page_id": page["page_id"]})
    assert by_id["card_id"] == cards[0]
    first, second = events(receiver)
    assert (first["SourceScene"], first["OuterStr"]) == ("SOURCE_SCENE_H5", "banner-3")
    assert (second["CardId"], second["OuterStr"]) == (cards[0], "")
    elsewhere = wx.post("/_sim/take-from-landing-page", json={
        "user": user["oa_openid"], "page_id": page["page_id"], "card_id": story.card()})
    assert elsewhere.status_code == 404
    assert wx.post("/_sim/take-from-landing-page", json={"user": user["oa_openid"],
                                                         "page_id": 999}).status_code == 404
