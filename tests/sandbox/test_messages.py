"""Card messages and user tags as WeChat answers them, straight to the standalone sandbox:
broadcasts (to all, a tag, an openid list), previews, customer-service messages, the
MASSSENDJOBFINISH push, clientmsgid repeats, each user's inbox and taking a card from it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.sandbox.test_push import decrypt, fields
from tests.story import Story


def wxcard(card_id: str, **body: Any) -> dict[str, Any]:
    return {"msgtype": "wxcard", "wxcard": {"card_id": card_id}, **body}


def inbox(story: Story, user: dict[str, Any]) -> list[dict[str, Any]]:
    status, answer, text = story._send("GET", f"/_sim/users/{user['oa_openid']}/messages")
    assert status == 200, text
    return answer["messages"]


def tag(story: Story, token: str, name: str, *users: dict[str, Any]) -> int:
    tag_id = story.call("/cgi-bin/tags/create", token, {"tag": {"name": name}})["tag"]["id"]
    if users:
        answer = story.call("/cgi-bin/tags/members/batchtagging", token, {
            "openid_list": [u["oa_openid"] for u in users], "tagid": tag_id})
        assert answer["errcode"] == 0, answer
    return tag_id


def pushed_events(receiver, event: str) -> list[dict[str, str]]:
    found = []
    for push in receiver.received:
        message, _ = decrypt(fields(push["body"])["Encrypt"])
        got = fields(message)
        if got["Event"] == event:
            found.append(got)
    return found


def test_tags_are_created_listed_and_hold_users(story: Story):
    token = story.token()
    alice, bob, carol = story.user(), story.user(), story.user()
    vip = tag(story, token, "vip", alice, bob)
    assert vip >= 100  # WeChat's own tags take the low ids
    assert story.call("/cgi-bin/tags/create", token, {"tag": {"name": "vip"}})["errcode"] == 45157
    assert story.call("/cgi-bin/tags/create", token,
                      {"tag": {"name": "x" * 31}})["errcode"] == 45158
    listed = story._send("GET", "/cgi-bin/tags/get", query={"access_token": token})[1]
    assert listed["tags"] == [{"id": vip, "name": "vip", "count": 2}]
    members = story.call("/cgi-bin/user/tag/get", token, {"tagid": vip, "next_openid": ""})
    assert members["count"] == 2
    assert sorted(members["data"]["openid"]) == sorted([alice["oa_openid"], bob["oa_openid"]])
    assert story.call("/cgi-bin/tags/getidlist", token,
                      {"openid": alice["oa_openid"]})["tagid_list"] == [vip]
    assert story.call("/cgi-bin/tags/getidlist", token,
                      {"openid": carol["oa_openid"]})["tagid_list"] == []
    refused = [
        ("/cgi-bin/tags/members/batchtagging", {"openid_list": [carol["oa_openid"]],
                                                "tagid": 999}, 45159),
        ("/cgi-bin/tags/members/batchtagging", {"openid_list": ["o-nobody"], "tagid": vip},
         40003),
        ("/cgi-bin/tags/members/batchtagging", {"openid_list": [carol["oa_openid"]] * 51,
                                                "tagid": vip}, 40032),
        ("/cgi-bin/user/tag/get", {"tagid": 999}, 45159),
    ]
    for path, body, errcode in refused:
        assert story.call(path, token, body)["errcode"] == errcode, (path, body)
    story.call("/cgi-bin/tags/members/batchuntagging", token,
               {"openid_list": [bob["oa_openid"]], "tagid": vip})
    assert story.call("/cgi-bin/user/tag/get", token, {"tagid": vip})["data"]["openid"] == [
        alice["oa_openid"]]


def test_broadcast_to_all_reaches_every_user_and_pushes_the_job_result(story: Story, receiver):
    token = story.token()
    users = [story.user() for _ in range(3)]
    card_id = story.card()
    answer = story.call("/cgi-bin/message/mass/sendall", token,
                        wxcard(card_id, filter={"is_to_all": True}, clientmsgid="all-1"))
    assert answer["errcode"] == 0 and isinstance(answer["msg_id"], int)
    for user in users:
        [message] = inbox(story, user)
        assert message["msg_id"] == str(answer["msg_id"]) and message["card_id"] == card_id
        assert message["msgtype"] == "wxcard" and message["via"] == "mass"
    [finish] = pushed_events(receiver, "MASSSENDJOBFINISH")
    assert finish["MsgID"] == str(answer["msg_id"]) and finish["Status"] == "sendsuccess"
    assert (finish["TotalCount"], finish["FilterCount"], finish["SentCount"],
            finish["ErrorCount"]) == ("3", "3", "3", "0")
    got = story.call("/cgi-bin/message/mass/get", token, {"msg_id": str(answer["msg_id"])})
    assert got["msg_status"] == "SEND_SUCCESS"


def test_broadcast_to_a_tag_reaches_only_its_users(story: Story, receiver):
    token = story.token()
    alice, bob, carol = story.user(), story.user(), story.user()
    vip = tag(story, token, "vip", alice, bob)
    card_id = story.card()
    answer = story.call("/cgi-bin/message/mass/sendall", token,
                        wxcard(card_id, filter={"is_to_all": False, "tag_id": vip}))
    assert answer["errcode"] == 0, answer
    assert len(inbox(story, alice)) == len(inbox(story, bob)) == 1
    assert inbox(story, carol) == []
    assert pushed_events(receiver, "MASSSENDJOBFINISH")[0]["SentCount"] == "2"
    # wechatpy sends group_id, the old name of tag_id
    answer = story.call("/cgi-bin/message/mass/sendall", token,
                        wxcard(card_id, filter={"is_to_all": False, "group_id": vip},
                               clientmsgid="by-group-id"))
    assert answer["errcode"] == 0, answer
    answer = story.call("/cgi-bin/message/mass/sendall", token,
                        wxcard(card_id, filter={"is_to_all": False, "tag_id": 4321}))
    assert answer["errcode"] == 40050


def test_openid_list_bounds_and_unknown_openids(story: Story, receiver):
    token = story.token()
    alice, bob = story.user(), story.user()
    card_id = story.card()
    for touser in ([alice["oa_openid"]], [f"o{i:027d}" for i in range(10_001)]):
        answer = story.call("/cgi-bin/message/mass/send", token, wxcard(card_id, touser=touser))
        assert answer["errcode"] == 40130, answer
    assert pushed_events(receiver, "MASSSENDJOBFINISH") == []
    answer = story.call("/cgi-bin/message/mass/send", token, wxcard(
        card_id, touser=[alice["oa_openid"], bob["oa_openid"], "o-nobody"]))
    assert answer["errcode"] == 0, answer
    [finish] = pushed_events(receiver, "MASSSENDJOBFINISH")
    assert (finish["TotalCount"], finish["SentCount"], finish["ErrorCount"]) == ("3", "2", "1")


def test_a_repeated_clientmsgid_is_refused_with_the_first_msg_id(story: Story, wx):
    token = story.token()
    story.user()
    card_id = story.card()
    body = wxcard(card_id, filter={"is_to_all": True}, clientmsgid="campaign-7")
    first = story.call("/cgi-bin/message/mass/sendall", token, body)
    again = story.call("/cgi-bin/message/mass/sendall", token, body)
    assert again == {"errcode": 45065, "errmsg": "clientmsgid exist", "msg_id": first["msg_id"]}
    # without clientmsgid WeChat takes a digest of the audience and content
    plain = wxcard(card_id, filter={"is_to_all": True})
    assert story.call("/cgi-bin/message/mass/sendall", token, plain)["errcode"] == 0
    assert story.call("/cgi-bin/message/mass/sendall", token, plain)["errcode"] == 45065
    long_id = wxcard(card_id, filter={"is_to_all": True}, clientmsgid="x" * 65)
    assert story.call("/cgi-bin/message/mass/sendall", token, long_id)["errcode"] == 45067
    # a day later the clientmsgid may be used again
    wx.post("/_sim/clock", json={"advance_seconds": 86_401})
    token = story.token()
    assert story.call("/cgi-bin/message/mass/sendall", token, body)["errcode"] == 0


@pytest.mark.parametrize("card, errcode", [
    ({"approved": False}, 40078),
    ({"use_custom_code": True}, 40078),
    ({"card_type": "GROUPON", "use_custom_code": True, "quantity": 0,
      "get_custom_code_mode": "GET_CUSTOM_CODE_MODE_DEPOSIT"}, 45031),
    ({"quantity": 0}, 45031),
])
def test_cards_that_cannot_go_out_in_a_message(story: Story, receiver, card, errcode):
    token = story.token()
    user = story.user()
    card_id = story.card(**card)
    for path, body in (
            ("/cgi-bin/message/mass/sendall", {"filter": {"is_to_all": True}}),
            ("/cgi-bin/message/mass/preview", {"touser": user["oa_openid"]}),
            ("/cgi-bin/message/custom/send", {"touser": user["oa_openid"]})):
        assert story.call(path, token, wxcard(card_id, **body))["errcode"] == errcode, path
    assert inbox(story, user) == [] and receiver.received == []
    unknown = story.call("/cgi-bin/message/custom/send", token,
                         wxcard("p" + "0" * 27, touser=user["oa_openid"]))
    assert unknown["errcode"] == 40073
    text = story.call("/cgi-bin/message/custom/send", token,
                      {"touser": user["oa_openid"], "msgtype": "text", "text": {"content": "hi"}})
    assert text["errcode"] == 40008


def test_preview_and_customer_service_messages(story: Story, receiver):
    token = story.token()
    alice = story.user(nickname="alice_wx")
    card_id = story.card()
    by_openid = story.call("/cgi-bin/message/mass/preview", token,
                           wxcard(card_id, touser=alice["oa_openid"]))
    assert by_openid["errcode"] == 0 and by_openid["errmsg"] == "preview success"
    by_name = story.call("/cgi-bin/message/mass/preview", token,
                         wxcard(card_id, towxname="alice_wx"))
    assert by_name["errcode"] == 0 and by_name["msg_id"] != by_openid["msg_id"]
    assert story.call("/cgi-bin/message/mass/preview", token,
                      wxcard(card_id, towxname="nobody_wx"))["errcode"] == 40132
    assert story.call("/cgi-bin/message/mass/preview", token,
                      wxcard(card_id, touser="o-nobody"))["errcode"] == 40003
    sent = story.call("/cgi-bin/message/custom/send", token,
                      wxcard(card_id, touser=alice["oa_openid"]))
    assert sent == {"errcode": 0, "errmsg": "ok"}
    assert story.call("/cgi-bin/message/custom/send", token,
                      wxcard(card_id, touser="o-nobody"))["errcode"] == 40003
    assert [m["via"] for m in inbox(story, alice)] == ["preview", "preview", "custom"]
    assert pushed_events(receiver, "MASSSENDJOBFINISH") == []  # no broadcast job


def test_a_user_takes_the_card_from_a_message(story: Story, receiver):
    token = story.token()
    alice, bob = story.user(), story.user()
    card_id = story.card(get_limit=1)
    story.call("/cgi-bin/message/custom/send", token, wxcard(card_id, touser=alice["oa_openid"]))
    [message] = inbox(story, alice)
    taken = story.sim("take-from-message", {"user": alice["mp_openid"],
                                            "msg_id": message["msg_id"]})
    assert taken["card_id"] == card_id and taken["pushed"][0]["delivered"]
    [got] = pushed_events(receiver, "user_get_card")
    assert got["FromUserName"] == alice["oa_openid"] and got["UserCardCode"] == taken["code"]
    held = story.call("/card/code/get", token, {"code": taken["code"], "check_consume": False})
    assert held["openid"] == alice["oa_openid"] and held["user_card_status"] == "NORMAL"
    # WeChat's rules still hold: get_limit 1
    status, answer, _ = story._send("POST", "/_sim/take-from-message",
                                    {"user": alice["oa_openid"], "msg_id": message["msg_id"]})
    assert status == 409 and "45033" in answer["message"]
    # bob received nothing with that msg_id
    status, _, _ = story._send("POST", "/_sim/take-from-message",
                               {"user": bob["oa_openid"], "msg_id": message["msg_id"]})
    assert status == 404
    status, _, _ = story._send("GET", "/_sim/users/o-nobody/messages")
    assert status == 404


def test_a_deposited_card_is_taken_from_a_message_with_an_imported_code(story: Story):
    token = story.token()
    alice, bob = story.user(), story.user()
    card_id = story.deposit_card()
    story.call("/card/code/deposit", token, {"card_id": card_id, "code": ["IMP-1", "IMP-2"]})
    story.call("/card/modifystock", token, {"card_id": card_id, "increase_stock_value": 2})
    answer = story.call("/cgi-bin/message/mass/send", token, wxcard(
        card_id, touser=[alice["oa_openid"], bob["oa_openid"]]))
    assert answer["errcode"] == 0, answer
    codes = {story.sim("take-from-message", {"user": u["oa_openid"],
                                             "msg_id": str(answer["msg_id"])})["code"]
             for u in (alice, bob)}
    assert codes == {"IMP-1", "IMP-2"}
