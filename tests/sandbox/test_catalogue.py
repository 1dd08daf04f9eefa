"""The sandbox's catalogue as WeChat answers it: rules, review, stock alerts, issuing rules."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

from tests.catalogue.samples import coupon, member_card_for_mini_program
from tests.sandbox.conftest import Receiver
from tests.story import Story


def only(answer: dict) -> dict:
    assert len(answer["card_list"]) == 1
    return answer["card_list"][0]


def test_card_create_errcodes(story: Story):
    token = story.token()

    def create(card: dict) -> int:
        return story.call("/card/create", token, card)["errcode"]

    missing = coupon("GIFT")
    del missing["card"]["gift"]["base_info"]["notice"]
    assert create(missing) == 41011
    assert create(coupon("GIFT", title="九个汉字以上的礼品券名称")) == 45021
    assert create(coupon("GIFT", code_type="CODE_TYPE_BLINK")) == 40072
    assert create(coupon("GIFT", sku={"quantity": -1})) == 40122
    assert create(coupon("GIFT", date_info={"type": "DATE_TYPE_FIX_TERM"})) == 40079
    assert create(coupon("GIFT", color="#ff0000")) == 47001
    assert create(member_card_for_mini_program(auto_activate=True)) == 47001
    assert create(member_card_for_mini_program(activate_app_brand_user_name="x")) == 47001
    assert create({"card": {"card_type": "CASH", "cash": {"base_info": {}}}}) == 41011
    assert create(coupon("CASH")) == 0


def test_update_refuses_what_wechat_does_not_let_change(story: Story):
    token = story.token()
    card_id = story.call("/card/create", token, coupon("GROUPON"))["card_id"]
    for change in ({"base_info": {"sku": {"quantity": 1}}}, {"base_info": {"brand_name": "x"}},
                   {"reduce_cost": 1}, {}):
        answer = story.call("/card/update", token, {"card_id": card_id, "groupon": change})
        assert answer["errcode"] in (47001, 41011), change
    story.call("/card/delete", token, {"card_id": card_id})
    answer = story.call("/card/update", token, {"card_id": card_id,
                                                "groupon": {"base_info": {"notice": "x"}}})
    assert answer["errcode"] == 40078


def test_a_card_under_review_goes_only_to_whitelisted_testers(story: Story, wx):
    token = story.token()
    card_id = story.call("/card/create", token, coupon("GENERAL_COUPON"))["card_id"]
    tester, stranger = story.user(), story.user()
    assert story.call("/card/testwhitelist/set", token, {"openid": [tester["oa_openid"]]})[
        "errcode"] == 0
    assert only(story.add_card(tester["oa_openid"], card_id))["isSuccess"] is True
    refused = only(story.add_card(stranger["oa_openid"], card_id))
    assert refused["isSuccess"] is False and refused["errcode"] == 40078
    bad = wx.post(f"/_sim/cards/{card_id}/review", json={"approve": False})
    assert bad.status_code == 400  # a refusal gives its reason
    assert wx.post("/_sim/cards/pnope/review", json={"approve": True}).status_code == 404
    wx.post(f"/_sim/cards/{card_id}/review", json={"approve": True})
    assert only(story.add_card(stranger["oa_openid"], card_id))["isSuccess"] is True
    story.call("/card/delete", token, {"card_id": card_id})
    assert only(story.add_card(tester["oa_openid"], card_id))["errcode"] == 40078


def test_refusal_pushes_the_reason(story: Story, wx, receiver: Receiver):
    wx.put("/_sim/config", json={"safe_mode": False})
    card_id = story.call("/card/create", story.token(), coupon("GIFT"))["card_id"]
    answer = wx.post(f"/_sim/cards/{card_id}/review",
                     json={"approve": False, "reason": "图片不清晰"}).get_json()
    assert answer["status"] == "CARD_STATUS_VERIFY_FAIL"
    body = receiver.received[-1]["body"]
    assert "<Event><![CDATA[card_not_pass_check]]></Event>" in body
    assert f"<CardId><![CDATA[{card_id}]]></CardId>" in body
    assert "<RefuseReason><![CDATA[图片不清晰]]></RefuseReason>" in body


def test_stock_running_low_pushes_card_sku_remind_once(story: Story, wx, receiver: Receiver):
    wx.put("/_sim/config", json={"safe_mode": False})
    card_id = story.card(quantity=201)
    token = story.token()
    story.call("/card/modifystock", token, {"card_id": card_id, "reduce_stock_value": 100})
    for _ in range(2):
        assert only(story.add_card(story.user()["oa_openid"], card_id))["isSuccess"]
    reminds = [r["body"] for r in receiver.received if "card_sku_remind" in r["body"]]
    assert len(reminds) == 1 and "<Detail>" in reminds[0]
    small = story.card(quantity=150)  # never over 200: WeChat does not warn
    story.add_card(story.user()["oa_openid"], small)
    assert len([r for r in receiver.received if "card_sku_remind" in r["body"]]) == 1


def test_qr_codes_and_landing_pages_require_what_the_seed_marks_required(story: Story):
    token = story.token()
    custom = story.card(use_custom_code=True)
    bound = story.card(bind_openid=True)

    def qr(card: dict) -> int:
        return story.call("/card/qrcode/create", token, {
            "action_name": "QR_CARD", "action_info": {"card": card}})["errcode"]

    assert qr({"card_id": custom}) == 41011
    assert qr({"card_id": custom, "code": "C1"}) == 0
    assert qr({"card_id": bound}) == 41011
    reviewing = story.call("/card/create", token, coupon("GIFT"))["card_id"]
    assert qr({"card_id": reviewing, "is_unique_code": True}) == 40078
    page = {"banner": "https://example.com/b.jpg", "page_title": "Offers", "can_share": True,
            "scene": "SCENE_H5", "card_list": [{"card_id": story.card(),
                                                "thumb_url": "https://example.com/t.jpg"}]}
    assert story.call("/card/landingpage/create", token, page)["errcode"] == 0
    for name in ("banner", "page_title", "can_share"):
        assert story.call("/card/landingpage/create", token,
                          {k: v for k, v in page.items() if k != name})["errcode"] == 41011
    no_thumb = {**page, "card_list": [{"card_id": page["card_list"][0]["card_id"]}]}
    assert story.call("/card/landingpage/create", token, no_thumb)["errcode"] == 41011
    own_codes = {**page, "card_list": [{"card_id": custom, "thumb_url": "https://e.com/t"}]}
    assert story.call("/card/landingpage/create", token, own_codes)["errcode"] == 47001
    deposited = story.card(use_custom_code=True,
                           get_custom_code_mode="GET_CUSTOM_CODE_MODE_DEPOSIT")
    imported = {**page, "card_list": [{"card_id": deposited, "thumb_url": "https://e.com/t"}]}
    assert story.call("/card/landingpage/create", token, imported)["errcode"] == 0


def test_activation_form_is_what_activatetempinfo_reports(story: Story, wx):
    token = story.token()
    card_id = story.card(card_type="MEMBER_CARD")
    assert story.call("/card/membercard/activateuserform/set", token, {
        "card_id": card_id,
        "required_form": {"common_field_id_list": ["USER_FORM_INFO_FLAG_MOBILE"],
                          "rich_field_list": [{"type": "FORM_FIELD_CHECK_BOX", "name": "爱好",
                                               "values": ["游泳", "跑步", "读书"]}]},
    })["errcode"] == 0
    user = story.user()
    url = story.call("/card/membercard/activate/geturl", token, {"card_id": card_id})["url"]
    query = parse_qs(urlsplit(url.replace("&&", "&")).query)
    returned = wx.post("/_sim/activation-form", json={
        "user": user["oa_openid"], "encrypt_card_id": query["encrypt_card_id"][0],
        "biz": query["biz"][0], "fields": {"USER_FORM_INFO_FLAG_MOBILE": "13900000000"},
        "custom_fields": {"爱好": ["游泳", "读书"]}})
    assert returned.status_code == 200, returned.get_json()
    info = story.call("/card/membercard/activatetempinfo/get", token,
                      {"activate_ticket": returned.get_json()["activate_ticket"]})["info"]
    assert info["common_field_list"] == [{"name": "USER_FORM_INFO_FLAG_MOBILE",
                                          "value": "13900000000"}]
    assert info["custom_field_list"][0]["value_list"] == ["游泳", "读书"]
    assert json.dumps(info, ensure_ascii=False).count("爱好") == 1


def test_deposit_mode_starts_with_no_stock_and_follows_the_imported_codes(story: Story):
    token = story.token()
    deposit = {"use_custom_code": True, "get_custom_code_mode": "GET_CUSTOM_CODE_MODE_DEPOSIT"}
    assert story.call("/card/create", token, coupon("GIFT", **deposit))["errcode"] == 40122
    card_id = story.call("/card/create", token,
                         coupon("GIFT", sku={"quantity": 0}, **deposit))["card_id"]
    story.call("/card/code/deposit", token, {"card_id": card_id, "code": ["A1", "A2"]})
    assert story.call("/card/modifystock", token,
                      {"card_id": card_id, "increase_stock_value": 2})["errcode"] == 0
    # A card turned to deposit mode later (WeChat's card/update example) needs the codes first.
    plain = story.call("/card/create", token, coupon("GIFT", use_custom_code=True))["card_id"]
    change = {"card_id": plain, "gift": {"base_info": {
        "get_custom_code_mode": "GET_CUSTOM_CODE_MODE_DEPOSIT"}}}
    assert story.call("/card/update", token, change)["errcode"] == 40122
