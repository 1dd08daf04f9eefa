"""Activation plug-in parameters: geturl parsed with exactly-once decoding, cached briefly."""

from __future__ import annotations

from bff.domain.members.plugin import PLUGIN_APPID, query_values
from bff.domain.ownership import channel_of
from tests.story import bearer

URL = ("https://mp.weixin.qq.com/bizmall/activatemembercard?action=preshow&&encrypt_card_id="
       "3%2Bm9a%2Fb%2B%3D%3D&outer_str=a+b%25c&biz=MzU2ODQzMDM1MQ%3D%3D#wechat_redirect")


def test_query_values_decode_once_and_keep_plus() -> None:
    assert query_values(URL) == {
        "action": "preshow",
        "encrypt_card_id": "3+m9a/b+==",
        "outer_str": "a+b%c",  # "+" is data; "%25" decodes once to "%", never twice
        "biz": "MzU2ODQzMDM1MQ==",
    }


def test_plugin_parameters_feed_the_plugin(story) -> None:
    user = story.user()
    token = story.login(user)
    card_id = story.member_card()
    answer = story.plugin(token, card_id, outer_str="guide+1 x")
    assert answer.status_code == 200, answer.get_json()
    data = answer.get_json()
    assert data["appId"] == PLUGIN_APPID == "wxeb490c6f9b154ef9"
    extra = data["extraData"]
    assert channel_of(extra["outer_str"]) == "guide+1 x"  # then "~" and the user's proof
    assert "%" not in extra["encrypt_card_id"] and "%" not in extra["biz"]
    assert data["url"].endswith("#wechat_redirect")
    # WeChat's plug-in (the sandbox) accepts the values as they are.
    returned = story.fill_form(user, extra)
    assert returned["card_id"] == card_id


def test_second_call_is_served_from_the_cache(story) -> None:
    token = story.login(story.user())
    card_id = story.member_card()
    first = story.plugin(token, card_id, outer_str="shop-1").get_json()
    again = story.plugin(token, card_id, outer_str="shop-1").get_json()
    assert first == again
    assert story.calls("card/membercard/activate/geturl") == 1
    other = story.plugin(token, card_id, outer_str="shop-2+x y%").get_json()
    # A channel is not WeChat's to say (outer_str is plain text in its URL): no new call,
    # however many channels callers name (the second review's F3).
    assert story.calls("card/membercard/activate/geturl") == 1
    assert other["extraData"]["outer_str"] == "shop-2+x y%"
    assert "&outer_str=shop-2%2Bx%20y%25&" in other["url"]  # where WeChat puts it
    assert query_values(other["url"])["outer_str"] == "shop-2+x y%"
    assert other["url"].endswith("#wechat_redirect")
    user = story.user()
    returned = story.fill_form(user, other["extraData"])  # WeChat's plug-in takes it as is
    assert returned["card_id"] == card_id


def test_needs_a_session_and_a_member_card(story, client) -> None:
    card_id = story.member_card()
    assert story.plugin("forged-token", card_id).status_code == 401
    assert client.post("/v1/membership/activation-plugin", json={"card_id": card_id}) \
        .status_code == 401
    token = story.login(story.user())
    coupon = story.sim("cards", {"card_type": "GENERAL_COUPON"})["card_id"]
    refused = story.plugin(token, coupon)
    assert refused.status_code == 422
    assert refused.get_json()["errcode"] == 47001
    unknown = story.plugin(token, "pNoSuchCard" + "0" * 17)  # 28 characters
    assert unknown.status_code == 404
    assert unknown.get_json()["errcode"] == 40073
    assert client.post("/v1/membership/activation-plugin", headers=bearer(token), json={}) \
        .status_code == 422
