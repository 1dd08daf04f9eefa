"""Card messages through the service: broadcasts to all, a tag or a list, their repeats,
refusals before any message call, the MASSSENDJOBFINISH bookkeeping, previews,
customer-service card messages, and a follower taking the card from a message."""

from __future__ import annotations

from typing import Any

import pytest

from tests.story import ADMIN, Story, bearer

MESSAGE_PATHS = ("cgi-bin/message/mass/sendall", "cgi-bin/message/mass/send",
                 "cgi-bin/message/mass/preview", "cgi-bin/message/custom/send")


def broadcast(story: Story, card_id: str, to: dict[str, Any], **body: Any) -> Any:
    return story.client.post("/v1/admin/broadcasts", json={"card_id": card_id, "to": to, **body},
                             headers=ADMIN)


def follow(story: Story, broadcast_id: str) -> dict[str, Any]:
    answer = story.client.get(f"/v1/admin/broadcasts/{broadcast_id}", headers=ADMIN)
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def messages_sent(story: Story) -> dict[str, int]:
    calls = story.calls()
    return {path: calls[path] for path in MESSAGE_PATHS if calls.get(path)}


def inbox(story: Story, user: dict[str, Any]) -> list[dict[str, Any]]:
    return story._send("GET", f"/_sim/users/{user['oa_openid']}/messages")[1]["messages"]


def tag(story: Story, name: str, *users: dict[str, Any]) -> int:
    """The merchant tags followers (in WeChat's console, here through its API)."""
    token = story.token()
    tag_id = story.call("/cgi-bin/tags/create", token, {"tag": {"name": name}})["tag"]["id"]
    story.call("/cgi-bin/tags/members/batchtagging", token,
               {"openid_list": [u["oa_openid"] for u in users], "tagid": tag_id})
    return tag_id


def test_operator_token_required(client):
    for path in ("/v1/admin/broadcasts", "/v1/admin/broadcasts/preview",
                 "/v1/admin/card-messages"):
        Story.assert_error(client.post(path, json={}), 401)
    Story.assert_error(client.get("/v1/admin/broadcasts/b" + "0" * 20), 401)


def test_broadcast_to_all_then_the_job_result_is_recorded(story: Story):
    users = [story.user() for _ in range(3)]
    card_id = story.card()
    sent = broadcast(story, card_id, {"all": True})
    assert sent.status_code == 201, sent.get_json()
    answer = sent.get_json()
    assert answer["replayed"] is False and answer["status"] == "sending"
    assert answer["audience"] == "all" and answer["card_id"] == card_id and answer["msg_id"]
    assert messages_sent(story) == {"cgi-bin/message/mass/sendall": 1}
    for user in users:
        assert [m["msg_id"] for m in inbox(story, user)] == [answer["msg_id"]]
    # before the worker handled WeChat's push: message/mass/get's word, no counts
    before = follow(story, answer["broadcast_id"])
    assert (before["status"], before["wechat_status"], before["total"]) == (
        "sent", "SEND_SUCCESS", None)
    assert story.calls("cgi-bin/message/mass/get") == 1
    assert story.handle_events()["done"] >= 1
    after = follow(story, answer["broadcast_id"])
    assert after["status"] == "sent" and after["wechat_status"] == "sendsuccess"
    assert (after["total"], after["filtered"], after["sent"], after["errors"]) == (3, 3, 3, 0)
    assert after["finished_at"] > 0
    assert story.calls("cgi-bin/message/mass/get") == 1  # the push answers from now on
    for unknown in ("b" + "0" * 20, "bnope", "preview"):
        Story.assert_error(story.client.get(f"/v1/admin/broadcasts/{unknown}", headers=ADMIN),
                           404 if unknown != "preview" else 405)


def test_broadcast_to_a_tag_and_to_a_list(story: Story):
    alice, bob, carol = story.user(), story.user(), story.user()
    vip = tag(story, "vip", alice, bob)
    card_id = story.card()
    to_tag = broadcast(story, card_id, {"tag_id": vip})
    assert to_tag.status_code == 201, to_tag.get_json()
    assert (to_tag.get_json()["audience"], to_tag.get_json()["tag_id"]) == ("tag", vip)
    assert len(inbox(story, alice)) == len(inbox(story, bob)) == 1 and inbox(story, carol) == []
    to_list = broadcast(story, card_id, {"openids": [carol["oa_openid"], alice["oa_openid"],
                                                     "o-not-a-follower"]})
    assert to_list.status_code == 201, to_list.get_json()
    assert to_list.get_json()["openid_count"] == 3
    story.handle_events()
    result = follow(story, to_list.get_json()["broadcast_id"])
    assert (result["total"], result["sent"], result["errors"]) == (3, 2, 1)
    assert follow(story, to_tag.get_json()["broadcast_id"])["sent"] == 2
    unknown = broadcast(story, card_id, {"tag_id": 4321})
    Story.assert_error(unknown, 404, errcode=40050, message="no such tag")


def test_the_same_send_twice_is_a_replay(story: Story):
    story.user()
    card_id = story.card()
    first = broadcast(story, card_id, {"all": True}, client_msg_id="spring-2026")
    assert first.status_code == 201
    again = broadcast(story, card_id, {"all": True}, client_msg_id="spring-2026")
    assert again.status_code == 200
    assert again.get_json() == {**first.get_json(), "replayed": True}
    assert messages_sent(story) == {"cgi-bin/message/mass/sendall": 1}
    other = broadcast(story, story.card(), {"all": True}, client_msg_id="spring-2026")
    Story.assert_error(other, 422, message="another card or audience")
    assert messages_sent(story) == {"cgi-bin/message/mass/sendall": 1}
    # without client_msg_id every request is a broadcast of its own
    assert broadcast(story, card_id, {"all": True}).status_code == 201
    assert broadcast(story, card_id, {"all": True}).status_code == 201
    assert messages_sent(story) == {"cgi-bin/message/mass/sendall": 3}


def test_a_send_whose_answer_was_lost_is_not_sent_again(story: Story):
    """The first attempt reached WeChat (here: sent straight to the sandbox with the same
    clientmsgid) and its answer never came: WeChat's 45065 names the broadcast it made."""
    user = story.user()
    card_id = story.card()
    lost = story.call("/cgi-bin/message/mass/sendall", story.token(), {
        "filter": {"is_to_all": True}, "msgtype": "wxcard", "wxcard": {"card_id": card_id},
        "clientmsgid": "lost-answer"})
    retry = broadcast(story, card_id, {"all": True}, client_msg_id="lost-answer")
    assert retry.status_code == 200, retry.get_json()
    assert retry.get_json()["replayed"] is True
    assert retry.get_json()["msg_id"] == str(lost["msg_id"])
    assert len(inbox(story, user)) == 1
    story.handle_events()
    assert follow(story, retry.get_json()["broadcast_id"])["sent"] == 1


@pytest.mark.parametrize("to, field", [
    ({"openids": ["o-only-one"]}, "openids"),
    ({"openids": [f"o{i:027d}" for i in range(10_001)]}, "openids"),
    ({"openids": ["o-twice", "o-twice"]}, "openids"),
    ({"all": False}, "all"),
    ({}, "_schema"),
    ({"all": True, "tag_id": 3}, "_schema"),
    ({"tag_id": "3"}, "tag_id"),
])
def test_bad_audiences_are_refused_before_any_call(story: Story, to, field):
    card_id = story.card()
    before = story.calls()
    refused = Story.assert_error(broadcast(story, card_id, to), 422)
    assert field in refused["errors"]["json"]["to"]
    assert story.calls() == before  # nothing reached WeChat


def test_ten_thousand_openids_go_out_in_one_call(story: Story):
    """A list at WeChat's bound (about 300 KB of JSON, over BFF_MAX_BODY_BYTES's default)."""
    user = story.user()
    card_id = story.card()
    openids = [user["oa_openid"], *(f"o{i:027d}" for i in range(9_999))]
    sent = broadcast(story, card_id, {"openids": openids})
    assert sent.status_code == 201, sent.get_json()
    assert messages_sent(story) == {"cgi-bin/message/mass/send": 1}
    story.handle_events()
    result = follow(story, sent.get_json()["broadcast_id"])
    assert (result["total"], result["sent"], result["errors"]) == (10_000, 1, 9_999)


def test_cards_that_cannot_go_out_are_refused_before_any_message(story: Story):
    user = story.user()
    pending = story.create_card({"card": {"card_type": "GENERAL_COUPON", "general_coupon": {
        "base_info": {"logo_url": "http://mmbiz.qpic.cn/logo.png", "brand_name": "Shop",
                      "code_type": "CODE_TYPE_TEXT", "title": "Coffee", "color": "Color010",
                      "notice": "Show it", "description": "One coffee",
                      "sku": {"quantity": 100},
                      "date_info": {"type": "DATE_TYPE_FIX_TERM", "fixed_term": 30,
                                    "fixed_begin_term": 0}},
        "default_detail": "A coffee"}}})
    before = story.calls()
    Story.assert_error(broadcast(story, pending, {"all": True}), 409,
                       message="has not passed WeChat's review")
    assert story.calls() == before  # the review state is known: no call at all
    refused = story.card()
    story.review(refused, approve=False, reason="blurry logo")
    custom = story.card(use_custom_code=True)
    deposit = story.deposit_card()
    empty = story.card(quantity=0)
    for card_id, message in ((refused, "refused by WeChat's review"),
                             (custom, "custom codes given with each take"),
                             (deposit, "no imported codes"), (empty, "no stock")):
        for answer in (broadcast(story, card_id, {"all": True}),
                       story.client.post("/v1/admin/broadcasts/preview", headers=ADMIN,
                                         json={"card_id": card_id,
                                               "openid": user["oa_openid"]}),
                       story.client.post("/v1/admin/card-messages", headers=ADMIN,
                                         json={"card_id": card_id,
                                               "openid": user["oa_openid"]})):
            Story.assert_error(answer, 409, message=message)
    assert messages_sent(story) == {} and inbox(story, user) == []
    Story.assert_error(broadcast(story, "p" + "0" * 27, {"all": True}), 404, errcode=40073)
    # imported codes and stock: it goes out
    token = story.token()
    story.call("/card/code/deposit", token, {"card_id": deposit, "code": ["D-1", "D-2"]})
    Story.assert_error(broadcast(story, deposit, {"all": True}), 409, message="no stock")
    story.call("/card/modifystock", token, {"card_id": deposit, "increase_stock_value": 2})
    assert broadcast(story, deposit, {"all": True}).status_code == 201


def test_preview_by_openid_and_by_wechat_id(story: Story):
    alice = story.user(nickname="alice_wx")
    card_id = story.card()
    for who in ({"openid": alice["oa_openid"]}, {"wxname": "alice_wx"}):
        answer = story.client.post("/v1/admin/broadcasts/preview", headers=ADMIN,
                                   json={"card_id": card_id, **who})
        assert answer.status_code == 200, answer.get_json()
        assert answer.get_json()["msg_id"]
    assert [m["via"] for m in inbox(story, alice)] == ["preview", "preview"]
    unknown = story.client.post("/v1/admin/broadcasts/preview", headers=ADMIN,
                                json={"card_id": card_id, "wxname": "nobody_wx"})
    Story.assert_error(unknown, 404, errcode=40132)
    for body in ({"card_id": card_id}, {"card_id": card_id, "openid": alice["oa_openid"],
                                        "wxname": "alice_wx"}):
        Story.assert_error(story.client.post("/v1/admin/broadcasts/preview", headers=ADMIN,
                                             json=body), 422)


def test_a_follower_takes_the_card_from_a_customer_service_message(story: Story):
    """The whole story: the operator sends a card message, the follower opens it and takes
    the card, WeChat pushes user_get_card, and the service knows who holds the code."""
    user = story.user()
    card_id = story.card()
    sent = story.client.post("/v1/admin/card-messages", headers=ADMIN,
                             json={"openid": user["oa_openid"], "card_id": card_id})
    assert sent.status_code == 200, sent.get_json()
    assert sent.get_json()["openid"] == user["oa_openid"]
    assert messages_sent(story) == {"cgi-bin/message/custom/send": 1}
    [message] = inbox(story, user)
    assert (message["card_id"], message["via"]) == (card_id, "custom")
    taken = story.sim("take-from-message", {"user": user["oa_openid"],
                                            "msg_id": message["msg_id"]})
    assert taken["pushed"][0]["delivered"]
    story.handle_events()
    token = story.login(user)
    mine = story.client.get("/v1/cards/mine", headers=bearer(token)).get_json()["cards"]
    assert [(c["card_id"], c["code"]) for c in mine] == [(card_id, taken["code"])]
    events = story.client.get("/v1/admin/events", headers=ADMIN).get_json()["events"]
    assert [(e["event"], e["code"]) for e in events if e["event"] == "user_get_card"] == [
        ("user_get_card", taken["code"])]
    unknown = story.client.post("/v1/admin/card-messages", headers=ADMIN,
                                json={"openid": "o-nobody", "card_id": card_id})
    Story.assert_error(unknown, 404, errcode=40003)


def test_followers_take_the_card_from_a_broadcast(story: Story):
    alice, bob = story.user(), story.user()
    card_id = story.card()
    sent = broadcast(story, card_id, {"openids": [alice["oa_openid"], bob["oa_openid"]]})
    msg_id = sent.get_json()["msg_id"]
    codes = {story.sim("take-from-message", {"user": u["mp_openid"], "msg_id": msg_id})["code"]
             for u in (alice, bob)}
    story.handle_events()
    assert story.channel_stats(card_id)[""]["received"] == 2
    events = story.client.get("/v1/admin/events", headers=ADMIN).get_json()["events"]
    assert {e["code"] for e in events if e["event"] == "user_get_card"} == codes
    [finish] = [e for e in events if e["event"] == "MASSSENDJOBFINISH"]
    assert finish["fields"]["MsgID"] == msg_id


def test_the_job_finish_push_is_deduplicated_by_msg_id(story: Story):
    """WeChat's retry of a push is recorded once; two jobs ending in one second both are."""
    fields = {"Event": "MASSSENDJOBFINISH", "FromUserName": "mphelper", "CreateTime": 1_800_000_000,
              "MsgID": 1_000_000_777, "Status": "sendsuccess", "TotalCount": 5,
              "FilterCount": 4, "SentCount": 4, "ErrorCount": 0}
    for body in (fields, fields, {**fields, "MsgID": 1_000_000_778, "Status": "err(30003)",
                                  "SentCount": 0, "ErrorCount": 4}):
        assert story.sim("events", body)["delivered"]
    assert story.handle_events()["done"] == 2
    events = story.client.get("/v1/admin/events", headers=ADMIN).get_json()["events"]
    assert sorted(e["fields"]["MsgID"] for e in events) == ["1000000777", "1000000778"]


def test_refused_broadcasts_leave_no_client_msg_id_behind(story: Story, redis_client):
    """A refused send under a fresh client_msg_id stores nothing, and the id stays free."""
    story.user()
    card_id = story.card(use_custom_code=True)
    Story.assert_error(broadcast(story, card_id, {"all": True}, client_msg_id="warm-up"), 409)
    before = set(redis_client.scan_iter(match="bff:*", count=1000))
    for n in range(5):
        Story.assert_error(broadcast(story, card_id, {"all": True}, client_msg_id=f"r-{n}"), 409)
    assert set(redis_client.scan_iter(match="bff:*", count=1000)) == before
    usable = broadcast(story, story.card(), {"all": True}, client_msg_id="r-0")
    assert usable.status_code == 201 and usable.get_json()["replayed"] is False
