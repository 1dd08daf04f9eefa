"""Every event the sandbox pushes passes verify_push (safe mode) and parses as a CardEvent whose
attributes are the pushed fields."""

from __future__ import annotations

import re
from pathlib import Path

import bff.sandbox
from bff.domain.events.parse import CardEvent
from bff.ground.wechat.crypto import PushCrypto
from bff.ground.wechat.push import verify_push
from tests.sandbox.conftest import OA_APPID, PUSH_AES_KEY, PUSH_TOKEN
from tests.sandbox.test_messages import wxcard
from tests.story import Story

# The event names the sandbox's code pushes (``card_event(sb, "name", ...)``): a new one fails
# this test until the story below makes it.
PUSHED = {name for path in Path(bff.sandbox.__file__).parent.glob("*.py")
          for name in re.findall(r'card_event\(\s*sb,\s*"(\w+)"', path.read_text("utf-8"))}


def verified_fields(push: dict) -> dict[str, str]:
    query = push["query"]
    return verify_push(query, push["body"].encode(),
                       crypto=PushCrypto(PUSH_TOKEN, PUSH_AES_KEY, OA_APPID), mode="safe",
                       max_skew=300, now=float(query["timestamp"]),
                       seen=lambda timestamp, nonce: False).fields


def test_card_event_parses_every_event_the_sandbox_pushes(story: Story, wx, receiver):
    alice, bob = story.user(), story.user()
    token = story.token()

    def take(card_id: str) -> str:
        return story.decrypt(token, story.take(card_id, alice, signed_by="ticket")[1])["code"]

    def sim(path: str, **body) -> dict:
        answer = wx.post(f"/_sim/{path}", json=body)
        assert answer.status_code == 200, answer.get_json()
        return answer.get_json()

    card = story.card(quantity=201)
    story.call("/card/modifystock", token, {"card_id": card, "reduce_stock_value": 100})
    code = take(card)  # user_get_card, card_sku_remind (100 left of 201)
    sim("open-card", user=alice["oa_openid"], card_list=[{"card_id": card, "code": code}])
    gifted = sim(f"users/{alice['oa_openid']}/cards/{code}/gift", to=bob["mp_openid"])["code"]
    sim(f"users/{alice['oa_openid']}/cards/{take(card)}/delete")
    sim(f"users/{alice['oa_openid']}/cards/{take(card)}/consume", staff_openid="oSTAFF",
        location_name="Shop 1")
    assert story.call("/card/code/consume", token, {"code": take(card)})["errcode"] == 0
    member = story.card(card_type="MEMBER_CARD")
    member_code = take(member)
    for change in ({"add_balance": 1000}, {"add_bonus": 30, "add_balance": -400}):
        assert story.call("/card/membercard/updateuser", token, {
            "card_id": member, "code": member_code, **change})["errcode"] == 0
    for approve, other in ((True, story.card()), (False, story.card())):
        sim(f"cards/{other}/review", approve=approve, reason="" if approve else "blurry")
    assert story.call("/cgi-bin/message/mass/sendall", token,
                      wxcard(card, filter={"is_to_all": True}))["errcode"] == 0

    events: dict[str, list[CardEvent]] = {}
    for push in receiver.received:
        fields = verified_fields(push)
        ev = CardEvent.parse(fields)
        assert (ev.event, ev.card_id, ev.code, ev.openid, ev.outer_str, ev.unionid) == (
            fields["Event"], fields.get("CardId", ""), fields.get("UserCardCode", ""),
            fields["FromUserName"], fields.get("OuterStr", ""), fields.get("UnionId", ""))
        assert ev.create_time == int(fields["CreateTime"]) > 0 and ev.fields == fields
        events.setdefault(ev.event, []).append(ev)
    assert PUSHED and PUSHED <= set(events), PUSHED - set(events)

    taken, given = events["user_get_card"][0], events["user_get_card"][1]
    assert (taken.code, taken.openid, taken.unionid, taken.is_give_by_friend) == (
        code, alice["oa_openid"], alice["unionid"], False)
    assert (given.code, given.openid, given.is_give_by_friend, given.friend_openid,
            given.old_code) == (gifted, bob["oa_openid"], True, alice["oa_openid"], code)
    [gifting] = events["user_gifting_card"]
    assert (gifting.code, gifting.friend_openid, gifting.is_return_back) == (
        code, bob["oa_openid"], False)
    at_counter, by_api = events["user_consume_card"]
    assert (at_counter.consume_source, at_counter.staff_openid, at_counter.location_name) == (
        "FROM_MOBILE_HELPER", "oSTAFF", "Shop 1")
    assert by_api.consume_source == "FROM_API"
    update = events["update_member_card"][-1]
    assert (update.card_id, update.modify_bonus, update.modify_balance) == (member, 30, -400)
    assert events["card_not_pass_check"][0].refuse_reason == "blurry"
    assert events["card_sku_remind"][0].detail.startswith("the card's quantity")
    assert events["user_view_card"][0].code == code
    assert events["MASSSENDJOBFINISH"][0].fields["Status"] == "sendsuccess"
