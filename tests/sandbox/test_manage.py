"""card/code/consume's push, card/code/unavailable, card/code/update, card/user/getcardlist and
card/membercard/updateuser: WeChat's shapes, limits, errcodes and pushes."""

from __future__ import annotations

from tests.sandbox.test_codes import issued
from tests.sandbox.test_push import fields
from tests.story import Story


def test_consume_pushes_user_consume_card_from_api(story: Story, wx, receiver):
    wx.put("/_sim/config", json={"safe_mode": False})
    user, card_id, _, code = issued(story)
    assert story.call("/card/code/consume", story.token(), {"code": code})["errcode"] == 0
    event = fields(receiver.received[-1]["body"])
    assert event["Event"] == "user_consume_card" and event["ConsumeSource"] == "FROM_API"
    assert (event["FromUserName"], event["CardId"], event["UserCardCode"]) == (
        user["oa_openid"], card_id, code)
    # A refused consume pushes nothing.
    before = len(receiver.received)
    assert story.call("/card/code/consume", story.token(), {"code": code})["errcode"] == 40099
    assert len(receiver.received) == before


def test_unavailable(story: Story):
    _, card_id, _, code = issued(story)
    token = story.token()
    assert story.call("/card/code/unavailable", token,
                      {"code": code, "reason": "lost"}) == {"errcode": 0, "errmsg": "ok"}
    state = story.call("/card/code/get", token, {"code": code, "check_consume": False})
    assert state["user_card_status"] == "UNAVAILABLE" and state["can_consume"] is False
    assert story.call("/card/code/get", token, {"code": code})["errcode"] == 40127
    assert story.call("/card/code/consume", token, {"code": code})["errcode"] == 40127
    assert story.call("/card/code/unavailable", token, {"code": code})["errcode"] == 40127
    assert story.call("/card/code/unavailable", token, {"code": "1"})["errcode"] == 40056
    _, _, _, used = issued(story)
    story.call("/card/code/consume", token, {"code": used})
    assert story.call("/card/code/unavailable", token, {"code": used})["errcode"] == 40099
    assert story.call("/card/code/unavailable", "bad-token", {"code": used})["errcode"] == 40001


def test_update_moves_a_custom_code(story: Story):
    user, card_id = story.user(), story.card(use_custom_code=True)
    story.add_card(user["oa_openid"], card_id, story.card_ext(card_id, code="C-1"))
    token = story.token()
    body = {"card_id": card_id, "code": "C-1", "new_code": "C-2"}
    assert story.call("/card/code/update", token, body) == {"errcode": 0, "errmsg": "ok"}
    old = story.call("/card/code/get", token, {"card_id": card_id, "code": "C-1"})
    assert old["errcode"] == 40056
    moved = story.call("/card/code/get", token, {"card_id": card_id, "code": "C-2"})
    assert moved["openid"] == user["oa_openid"] and moved["can_consume"] is True
    listed = story.call("/card/user/getcardlist", token, {"openid": user["oa_openid"]})
    assert listed["card_list"] == [{"code": "C-2", "card_id": card_id}]
    story.add_card(user["oa_openid"], card_id, story.card_ext(card_id, code="C-3"))
    taken = {"card_id": card_id, "code": "C-2", "new_code": "C-3"}
    assert story.call("/card/code/update", token, taken)["errcode"] == 40056
    assert story.call("/card/code/update", token, {"code": "C-2", "new_code": "C-9"})["errcode"] \
        == 47001
    assert story.call("/card/code/update", token, {"card_id": card_id, "code": "C-2"})["errcode"] \
        == 47001
    _, generated, _, code = issued(story)
    assert story.call("/card/code/update", token, {"card_id": generated, "code": code,
                                                   "new_code": "X"})["errcode"] == 40056


def test_getcardlist_lists_what_is_in_the_card_package(story: Story, wx):
    user = story.user()
    cards = [story.card() for _ in range(3)]
    codes = []
    token = story.token()
    for card_id in cards:
        encrypted = story.add_card(user["oa_openid"], card_id)["card_list"][0]["code"]
        codes.append(story.decrypt(token, encrypted)["code"])
    listed = story.call("/card/user/getcardlist", token, {"openid": user["oa_openid"]})
    assert listed["errcode"] == 0 and listed["has_share_card"] is False
    assert sorted(listed["card_list"], key=lambda c: c["code"]) == sorted(
        [{"code": c, "card_id": k} for c, k in zip(codes, cards, strict=True)],
        key=lambda c: c["code"])
    story.call("/card/code/consume", token, {"code": codes[0]})
    wx.post(f"/_sim/users/{user['oa_openid']}/cards/{codes[1]}/delete")
    listed = story.call("/card/user/getcardlist", token, {"openid": user["oa_openid"]})
    assert listed["card_list"] == [{"code": codes[2], "card_id": cards[2]}]
    only = story.call("/card/user/getcardlist", token, {"openid": user["oa_openid"],
                                                        "card_id": cards[0]})
    assert only["card_list"] == []
    assert story.call("/card/user/getcardlist", token, {"openid": user["mp_openid"]})["errcode"] \
        == 40003
    assert story.call("/card/user/getcardlist", token, {})["errcode"] == 40003


def test_updateuser_changes_bonus_and_balance_and_pushes(story: Story, wx, receiver):
    wx.put("/_sim/config", json={"safe_mode": False})
    user, card_id, _, code = issued(story, card_type="MEMBER_CARD")
    token = story.token()
    answer = story.call("/card/membercard/updateuser", token, {
        "card_id": card_id, "code": code, "add_bonus": 30, "record_bonus": "coffee",
        "add_balance": 1000, "custom_field_value1": "Gold",
        "notify_optional": {"is_notify_bonus": False}})
    assert answer == {"errcode": 0, "errmsg": "ok", "result_bonus": 30, "result_balance": 1000,
                      "openid": user["oa_openid"]}
    event = fields(receiver.received[-1]["body"])
    assert event["Event"] == "update_member_card" and event["UserCardCode"] == code
    assert (event["ModifyBonus"], event["ModifyBalance"]) == ("30", "1000")
    # Absolute values; with add_bonus as well, add_bonus is what the push reports.
    answer = story.call("/card/membercard/updateuser", token, {
        "card_id": card_id, "code": code, "bonus": 100, "add_balance": -400})
    assert (answer["result_bonus"], answer["result_balance"]) == (100, 600)
    event = fields(receiver.received[-1]["body"])
    assert (event["ModifyBonus"], event["ModifyBalance"]) == ("70", "-400")
    answer = story.call("/card/membercard/updateuser", token, {
        "card_id": card_id, "code": code, "bonus": 500, "add_bonus": 5})
    assert answer["result_bonus"] == 500
    assert fields(receiver.received[-1]["body"])["ModifyBonus"] == "5"
    info = story.call("/card/membercard/userinfo/get", token, {"card_id": card_id, "code": code})
    assert (info["bonus"], info["balance"]) == (500, 600)


def test_updateuser_limits(story: Story, receiver):
    _, card_id, _, code = issued(story, card_type="MEMBER_CARD")
    _, coupon, _, coupon_code = issued(story)
    token = story.token()
    pushed = len(receiver.received)

    def update(**body):
        return story.call("/card/membercard/updateuser", token,
                          {"card_id": card_id, "code": code, **body})["errcode"]

    assert update(add_balance=-1) == 47001  # below 0
    assert update(add_bonus="ten") == 47001
    assert update(add_bonus=True) == 47001
    assert update(custom_field_value2="一二三四五") == 47001  # 15 bytes
    assert update(record_bonus="x" * 65) == 47001
    assert story.call("/card/membercard/updateuser", token,
                      {"code": code, "add_bonus": 1})["errcode"] == 47001
    assert update(code="999999999999") == 40056
    assert story.call("/card/membercard/updateuser", token,
                      {"card_id": coupon, "code": coupon_code, "add_bonus": 1})["errcode"] == 47001
    assert len(receiver.received) == pushed  # refusals push nothing
