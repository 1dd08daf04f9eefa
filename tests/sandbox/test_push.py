"""Event pushes: the reference vector, signatures, safe mode, retries, gift and delete events."""

from __future__ import annotations

import base64
import hashlib
import struct
import xml.etree.ElementTree as ET

from Crypto.Cipher import AES

from bff.sandbox import crypto
from tests.sandbox.conftest import OA_APPID, PUSH_AES_KEY, PUSH_TOKEN
from tests.story import Story

VECTOR = ("jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOf"
          "g==")


def test_push_encryption_matches_the_reference_vector():
    encrypted = crypto.encrypt_push("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
                                    "wxb11529c136998cb6", "我是中文abcd123",
                                    random16=b"aaaabbbbccccdddd")
    assert encrypted == VECTOR


def decrypt(encrypted: str, key43: str = PUSH_AES_KEY) -> tuple[str, str]:
    """Independent of the sandbox: returns (message, appid)."""
    key = base64.b64decode(key43 + "=")
    plain = AES.new(key, AES.MODE_CBC, key[:16]).decrypt(base64.b64decode(encrypted))
    plain = plain[: -plain[-1]]
    (length,) = struct.unpack(">I", plain[16:20])
    return plain[20:20 + length].decode(), plain[20 + length:].decode()


def test_independent_decrypt_reads_the_vector():
    assert decrypt(VECTOR, "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG") == (
        "我是中文abcd123", "wxb11529c136998cb6")


def sha1_sorted(*values: str) -> str:
    return hashlib.sha1("".join(sorted(values)).encode()).hexdigest()


def fields(xml: str) -> dict[str, str]:
    return {child.tag: child.text or "" for child in ET.fromstring(xml)}


def test_safe_mode_push_of_user_get_card(story: Story, receiver):
    user, card_id = story.user(), story.card()
    story.add_card(user["mp_openid"], card_id, story.card_ext(card_id, outer_str="shelf-3"))
    [push] = receiver.received
    q = push["query"]
    assert push["method"] == "POST" and push["path"] == "/wechat/events"
    assert q["encrypt_type"] == "aes" and q["openid"] == user["oa_openid"]
    assert q["signature"] == sha1_sorted(PUSH_TOKEN, q["timestamp"], q["nonce"])
    outer = fields(push["body"])
    assert q["msg_signature"] == sha1_sorted(PUSH_TOKEN, q["timestamp"], q["nonce"],
                                             outer["Encrypt"])
    message, appid = decrypt(outer["Encrypt"])
    assert appid == OA_APPID
    event = fields(message)
    assert event["ToUserName"] == outer["ToUserName"]
    assert event["MsgType"] == "event" and event["Event"] == "user_get_card"
    assert event["FromUserName"] == user["oa_openid"] and event["CardId"] == card_id
    assert event["OuterStr"] == "shelf-3" and event["IsGiveByFriend"] == "0"
    assert event["UnionId"] == user["unionid"]
    got = story.call("/card/code/get", story.token(), {"code": event["UserCardCode"]})
    assert got["card"]["card_id"] == card_id and got["openid"] == user["oa_openid"]
    assert int(event["CreateTime"]) > 0


def test_plain_mode_push_and_unionid_switch(story: Story, wx, receiver):
    assert wx.put("/_sim/config", json={"safe_mode": False}).get_json()["safe_mode"] is False
    user, card_id = story.user(), story.card()
    story.add_card(user["oa_openid"], card_id, unionid_in_event=False)
    [push] = receiver.received
    q = push["query"]
    assert "encrypt_type" not in q and "msg_signature" not in q
    assert q["signature"] == sha1_sorted(PUSH_TOKEN, q["timestamp"], q["nonce"])
    event = fields(push["body"])
    assert event["Event"] == "user_get_card" and "UnionId" not in event


def test_push_is_retried_three_times_at_most(story: Story, wx, receiver):
    receiver.answers = [(500, b""), (200, b"not yet"), (200, b"")]
    user, card_id = story.user(), story.card()
    answer = story.add_card(user["oa_openid"], card_id)
    assert answer["pushed"][0]["delivered"] is True and answer["pushed"][0]["attempts"] == 3
    receiver.answers = [(500, b"")] * 3
    answer = story.add_card(user["oa_openid"], card_id)
    assert answer["pushed"][0] == {"event": "user_get_card", "delivered": False, "attempts": 3,
                                   "http_status": 500}
    assert len(receiver.received) == 6
    pushes = wx.get("/_sim/pushes?limit=2").get_json()["pushes"]
    assert [p["delivered"] for p in pushes] == [False, True]


def test_no_event_url_means_no_push(story: Story, wx, receiver):
    wx.put("/_sim/config", json={"event_url": None})
    user, card_id = story.user(), story.card()
    assert story.add_card(user["oa_openid"], card_id)["card_list"][0]["isSuccess"]
    assert receiver.received == []


def test_gift_moves_the_card_and_pushes_two_events(story: Story, wx, receiver):
    wx.put("/_sim/config", json={"safe_mode": False})
    giver, friend, card_id = story.user(), story.user(), story.card()
    encrypted = story.add_card(giver["oa_openid"], card_id)["card_list"][0]["code"]
    token = story.token()
    old = story.decrypt(token, encrypted)["code"]
    answer = wx.post(f"/_sim/users/{giver['oa_openid']}/cards/{old}/gift",
                     json={"to": friend["mp_openid"]}).get_json()
    new = answer["code"]
    assert new != old and story.decrypt(token, answer["encrypt_code"])["code"] == new
    gifting, getting = (fields(p["body"]) for p in receiver.received[1:])
    assert gifting["Event"] == "user_gifting_card" and gifting["FromUserName"] == giver["oa_openid"]
    assert gifting["FriendUserName"] == friend["oa_openid"] and gifting["UserCardCode"] == old
    assert getting["Event"] == "user_get_card" and getting["IsGiveByFriend"] == "1"
    assert getting["FromUserName"] == friend["oa_openid"]
    assert getting["FriendUserName"] == giver["oa_openid"]
    assert getting["OldUserCardCode"] == old and getting["UserCardCode"] == new
    old_state = story.call("/card/code/get", token, {"code": old, "check_consume": False})
    assert old_state["user_card_status"] == "GIFT_SUCC" and old_state["can_consume"] is False
    new_state = story.call("/card/code/get", token, {"code": new})
    assert new_state["openid"] == friend["oa_openid"] and new_state["can_consume"] is True


def test_delete_and_consume_events(story: Story, wx, receiver):
    wx.put("/_sim/config", json={"safe_mode": False})
    user = story.user()
    codes = []
    for _ in range(2):
        card_id = story.card()
        encrypted = story.add_card(user["oa_openid"], card_id)["card_list"][0]["code"]
        codes.append(story.decrypt(story.token(), encrypted)["code"])
    base = f"/_sim/users/{user['oa_openid']}/cards"
    assert wx.post(f"{base}/{codes[0]}/delete").get_json()["status"] == "DELETE"
    assert wx.post(f"{base}/{codes[0]}/delete").status_code == 409
    assert wx.post(f"{base}/{codes[1]}/consume").get_json()["status"] == "CONSUMED"
    assert wx.post(f"{base}/{codes[1]}/consume").status_code == 409
    assert wx.post(f"{base}/000000000000/delete").status_code == 404
    deleted, consumed = (fields(p["body"]) for p in receiver.received[2:])
    assert deleted["Event"] == "user_del_card" and deleted["UserCardCode"] == codes[0]
    assert consumed["Event"] == "user_consume_card" and consumed["UserCardCode"] == codes[1]


def test_arbitrary_event(wx, receiver):
    wx.put("/_sim/config", json={"safe_mode": False})
    answer = wx.post("/_sim/events", json={
        "Event": "submit_membercard_user_info", "FromUserName": "o" * 28,
        "CardId": "p" + "1" * 27, "UserCardCode": "123456789012"}).get_json()
    assert answer["delivered"] is True
    event = fields(receiver.received[0]["body"])
    assert event["Event"] == "submit_membercard_user_info"
    assert event["UserCardCode"] == "123456789012" and event["MsgType"] == "event"
