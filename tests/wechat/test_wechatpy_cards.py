"""A third-party client runs unchanged against the sandbox: wechatpy 1.8.18's card and member
calls (consume, get code, update member, unavailable, update code, getcardlist), its card
messages (send_mass_card, send_card, get_mass) and media.upload_image.

wechatpy hard-codes api.weixin.qq.com in several places (the card API's own base URL, the token
fetch); every one is redirected to the in-process sandbox, and a guard adapter refuses any other
host, so nothing here can reach the network.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
import requests
from requests.adapters import BaseAdapter
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException

from bff.edges.events import process_pending
from bff.sandbox.transport import WSGIAdapter
from tests.story import ADMIN

BASE = "http://sandbox.internal/"


class NoNetwork(BaseAdapter):
    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"wechatpy tried to reach {request.url.split('?')[0]}")

    def close(self) -> None:
        pass


class SandboxClient(WeChatClient):
    API_BASE_URL = BASE + "cgi-bin/"

    def fetch_access_token(self) -> dict:
        return self._fetch_access_token(url=BASE + "cgi-bin/token", params={
            "grant_type": "client_credential", "appid": self.appid, "secret": self.secret})


@pytest.fixture
def wxpy(app) -> WeChatClient:
    settings = app.extensions["bff"].settings
    client = SandboxClient(settings.appid, settings.secret)
    session = requests.Session()
    session.mount("http://", NoNetwork())
    session.mount("https://", NoNetwork())
    session.mount(BASE.rstrip("/"), WSGIAdapter(app.extensions["bff_sandbox"]))
    client._http = session
    client.card.API_BASE_URL = BASE
    return client


def taken(story, **card: Any) -> tuple[dict, str, str]:
    """(user, card_id, code): a user took a card through the sandbox's wx.addCard."""
    card_id = story.card(**card)
    code = "CUSTOM-1" if card.get("use_custom_code") else ""
    user, encrypted = story.take(card_id, signed_by="ticket", code=code)
    return user, card_id, story.code_of(encrypted)


def test_get_and_consume_code(story, app, client, wxpy):
    user, card_id, code = taken(story)
    got = wxpy.card.get_code(code)  # check_consume left out: true, as WeChat assumes
    assert got["card"]["card_id"] == card_id and got["openid"] == user["oa_openid"]
    assert got["can_consume"] is True
    consumed = wxpy.card.consume_code(code)
    assert consumed["card"]["card_id"] == card_id and consumed["openid"] == user["oa_openid"]
    with pytest.raises(WeChatClientException) as refused:
        wxpy.card.get_code(code)
    assert refused.value.errcode == 40099
    assert wxpy.card.get_code(code, check_consume=False)["user_card_status"] == "CONSUMED"
    # The service saw it: WeChat's push made the holding CONSUMED and counted the redemption.
    process_pending(app)
    rows = client.get("/v1/admin/stats/channels", query_string={"card_id": card_id},
                      headers=ADMIN).json["rows"]
    assert sum(r["consumed"] for r in rows) == 1


def test_unavailable_update_code_and_card_list(story, app, wxpy):
    user, card_id, code = taken(story)
    assert wxpy.card.get_card_list(user["oa_openid"])["card_list"] == [
        {"code": code, "card_id": card_id}]
    wxpy.card.invalid_code(code, card_id)
    assert wxpy.card.get_code(code, check_consume=False)["user_card_status"] == "UNAVAILABLE"
    assert wxpy.card.get_card_list(user["oa_openid"])["card_list"] == []
    user, custom, old = taken(story, use_custom_code=True)
    wxpy.card.update_code(custom, old, "CUSTOM-2")
    assert wxpy.card.get_card_list(user["oa_openid"], custom)["card_list"] == [
        {"code": "CUSTOM-2", "card_id": custom}]
    with pytest.raises(WeChatClientException) as refused:
        wxpy.card.get_card_list("o-nobody")
    assert refused.value.errcode == 40003


def test_update_member_card(story, app, client, wxpy):
    user, card_id, code = taken(story, card_type="MEMBER_CARD")
    answer = wxpy.card.update_membercard(code, card_id, add_bonus=30, record_bonus="coffee",
                                         add_balance=-0, balance=800,
                                         custom_field_value1="Gold")
    assert (answer["result_bonus"], answer["result_balance"]) == (30, 800)
    assert answer["openid"] == user["oa_openid"]
    info = wxpy.card.get_membercard_user_info(card_id, code)
    assert (info["bonus"], info["balance"]) == (30, 800)
    # The service records the change made outside it, from WeChat's update_member_card push.
    process_pending(app)
    [change] = client.get(f"/v1/admin/members/{card_id}/{code}/changes",
                          headers=ADMIN).json["changes"]
    assert (change["source"], change["add_bonus"], change["add_balance"]) == ("wechat", 30, 0)


def inbox(story, user: dict) -> list[dict]:
    return story._send("GET", f"/_sim/users/{user['oa_openid']}/messages")[1]["messages"]


def test_card_messages_and_image_upload(story, app, client, wxpy):
    """wechatpy's own send_mass_card (to a tag, as group_id, and to an openid list), send_card
    (customer service) and media.upload_image, unchanged."""
    alice, bob, carol = story.user(), story.user(), story.user()
    token = story.token()
    vip = story.call("/cgi-bin/tags/create", token, {"tag": {"name": "vip"}})["tag"]["id"]
    story.call("/cgi-bin/tags/members/batchtagging", token,
               {"openid_list": [alice["oa_openid"], bob["oa_openid"]], "tagid": vip})
    card_id = story.card()
    to_tag = wxpy.message.send_mass_card(vip, card_id)
    assert to_tag["errcode"] == 0 and to_tag["msg_id"]
    to_list = wxpy.message.send_mass_card([bob["oa_openid"], carol["oa_openid"]], card_id,
                                          client_msg_id="wechatpy-list")
    assert to_list["msg_id"] != to_tag["msg_id"]
    with pytest.raises(WeChatClientException) as repeated:
        wxpy.message.send_mass_card([bob["oa_openid"], carol["oa_openid"]], card_id,
                                    client_msg_id="wechatpy-list")
    assert repeated.value.errcode == 45065
    with pytest.raises(WeChatClientException) as too_short:
        wxpy.message.send_mass_card([carol["oa_openid"]], card_id)
    assert too_short.value.errcode == 40130
    assert wxpy.message.get_mass(to_tag["msg_id"])["msg_status"] == "SEND_SUCCESS"
    assert wxpy.message.send_card(carol["oa_openid"], card_id)["errcode"] == 0
    assert [m["via"] for m in inbox(story, alice)] == ["mass"]
    assert [m["via"] for m in inbox(story, bob)] == ["mass", "mass"]
    assert [m["via"] for m in inbox(story, carol)] == ["mass", "custom"]
    # The service followed both broadcasts through WeChat's MASSSENDJOBFINISH pushes.
    process_pending(app)
    events = client.get("/v1/admin/events", headers=ADMIN).json["events"]
    finished = {e["fields"]["MsgID"]: e["fields"]["SentCount"] for e in events
                if e["event"] == "MASSSENDJOBFINISH"}
    assert finished == {str(to_tag["msg_id"]): "2", str(to_list["msg_id"]): "2"}
    png = io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    url = wxpy.media.upload_image(png)
    assert "/mmbiz.qpic.cn/mmbiz_png/" in url  # WeChat's image host's shape, served by the sandbox
    with pytest.raises(WeChatClientException) as not_an_image:
        wxpy.media.upload_image(io.BytesIO(b"GIF89a"))
    assert not_an_image.value.errcode == 40005
