"""A third-party client, wechatpy 1.8.18, runs its card and datacube calls unchanged against
the sandbox: the sandbox answers in WeChat's shapes, not in shapes our own client agrees with.

wechatpy's hosts are redirected into the sandbox in-process; any other host it tries to reach
fails the test (nothing leaves the machine).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from requests.adapters import BaseAdapter
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException

from bff.sandbox.cube import SHANGHAI
from bff.sandbox.transport import WSGIAdapter
from tests.catalogue.samples import coupon, member_card_for_mini_program
from tests.sandbox.conftest import OA_APPID, OA_SECRET, Receiver

BASE = "http://sandbox.internal/"


class NoOtherHost(BaseAdapter):
    """Refuses every request the sandbox adapter does not take (api.weixin.qq.com included)."""

    def send(self, request: requests.PreparedRequest, **kwargs: object) -> requests.Response:
        raise AssertionError(f"wechatpy tried to leave the sandbox: {request.url}")

    def close(self) -> None:
        pass


class SandboxWeChatClient(WeChatClient):
    API_BASE_URL = BASE + "cgi-bin/"

    def fetch_access_token(self) -> dict:  # wechatpy hard-codes api.weixin.qq.com here
        return self._fetch_access_token(url=BASE + "cgi-bin/token", params={
            "grant_type": "client_credential", "appid": self.appid, "secret": self.secret})


@pytest.fixture
def wechatpy(sandbox_app: Flask) -> Iterator[WeChatClient]:
    client = SandboxWeChatClient(OA_APPID, OA_SECRET)
    client._http.mount("http://", NoOtherHost())
    client._http.mount("https://", NoOtherHost())
    client._http.mount(BASE.rstrip("/"), WSGIAdapter(sandbox_app))
    client.card.API_BASE_URL = BASE
    client.datacube.API_BASE_URL = BASE + "datacube/"
    yield client
    client._http.close()


def test_the_guard_refuses_the_real_host(wechatpy: WeChatClient):
    with pytest.raises(AssertionError, match="leave the sandbox"):
        wechatpy._http.get("https://api.weixin.qq.com/cgi-bin/token")


def test_card_calls_work_unchanged(wechatpy: WeChatClient, wx: FlaskClient,
                                   receiver: Receiver):
    card_id = wechatpy.card.create(coupon("CASH"))
    assert card_id.startswith("p")
    card = wechatpy.card.get(card_id)
    assert card["card_type"] == "CASH"
    assert card["cash"]["reduce_cost"] == 1000
    assert card["cash"]["base_info"]["status"] == "CARD_STATUS_NOT_VERIFY"
    assert card["cash"]["base_info"]["sku"]["quantity"] == 500

    listed = wechatpy.card.batch_get(0, 50)
    assert listed["card_id_list"] == [card_id] and listed["total_num"] == 1
    assert wechatpy.card.batch_get(0, 50, ["CARD_STATUS_VERIFY_OK"])["card_id_list"] == []

    wechatpy.card.modify_stock(card_id, 100)
    wechatpy.card.modify_stock(card_id, -50)
    assert wechatpy.card.get(card_id)["cash"]["base_info"]["sku"]["quantity"] == 550
    with pytest.raises(WeChatClientException) as refused:
        wechatpy.card.modify_stock(card_id, -10_000)
    assert refused.value.errcode == 45031

    changed = wechatpy.card.update({"card_id": card_id,
                                    "cash": {"base_info": {"notice": "出示即可"}}})
    assert changed["send_check"] is True
    assert wechatpy.card.update({"card_id": card_id, "cash": {"base_info": {
        "service_phone": "020-88888888"}}})["send_check"] is False

    review = wx.post(f"/_sim/cards/{card_id}/review", json={"approve": True}).get_json()
    assert review["status"] == "CARD_STATUS_VERIFY_OK"
    assert review["pushed"] == [{"event": "card_pass_check", "delivered": True, "attempts": 1,
                                 "http_status": 200}]
    assert receiver.received[-1]["query"]["encrypt_type"] == "aes"

    wechatpy.card.delete(card_id)
    assert wechatpy.card.get(card_id)["cash"]["base_info"]["status"] == "CARD_STATUS_DELETE"
    assert wechatpy.card.batch_get(0, 50)["total_num"] == 0


def test_wechat_refusals_reach_wechatpy_as_its_exceptions(wechatpy: WeChatClient):
    bad = coupon("GROUPON")
    del bad["card"]["groupon"]["base_info"]["title"]
    with pytest.raises(WeChatClientException) as refused:
        wechatpy.card.create(bad)
    assert refused.value.errcode == 41011
    with pytest.raises(WeChatClientException) as unknown:
        wechatpy.card.get("p" + "x" * 27)
    assert unknown.value.errcode == 40073
    with pytest.raises(WeChatClientException) as too_many:
        wechatpy.card.batch_get(0, 51)
    assert too_many.value.errcode == 40109


def test_member_card_and_activation_form(wechatpy: WeChatClient):
    card_id = wechatpy.card.create(member_card_for_mini_program())
    card = wechatpy.card.get(card_id)["member_card"]
    assert card["activate_app_brand_user_name"] == "gh_86a091e50ad4@app"
    assert card["wx_activate"] is True and card["supply_bonus"] is True
    answer = wechatpy.card.set_activate_user_form(
        card_id,
        required_form={"common_field_id_list": ["USER_FORM_INFO_FLAG_MOBILE"]},
        optional_form={"custom_field_list": ["喜欢的菜"]},
        service_statement={"name": "会员守则", "url": "https://example.com/rules"},
    )
    assert answer["errcode"] == 0
    coupon_id = wechatpy.card.create(coupon("GIFT"))
    with pytest.raises(WeChatClientException) as refused:
        wechatpy.card.set_activate_user_form(
            coupon_id, required_form={"common_field_id_list": ["USER_FORM_INFO_FLAG_MOBILE"]})
    assert refused.value.errcode == 47001


def test_datacube_calls_through_wechatpys_datacube_api(wechatpy: WeChatClient, wx: FlaskClient):
    wechatpy.card.create(coupon("DISCOUNT"))
    yesterday = dt.datetime.now(SHANGHAI).date() - dt.timedelta(days=1)
    week_ago = yesterday - dt.timedelta(days=6)
    body = {"begin_date": week_ago.isoformat(), "end_date": yesterday.isoformat(),
            "cond_source": 1}
    summary = wechatpy.datacube._post("getcardbizuininfo", data=body)["list"]
    assert [row["ref_date"] for row in summary][-1] == yesterday.isoformat()
    assert set(summary[0]) >= {"view_cnt", "receive_cnt", "verify_cnt", "given_cnt",
                               "expire_user"}
    per_card = wechatpy.datacube._post("getcardcardinfo", data=body)["list"]
    assert {row["card_type"] for row in per_card} == {0}  # 0: discount
    members = wechatpy.datacube._post("getcardmembercardinfo", data=body)["list"]
    assert len(members) == 7 and "active_user" in members[0]
    with pytest.raises(WeChatClientException) as too_long:
        wechatpy.datacube._post("getcardbizuininfo", data={
            **body, "begin_date": (yesterday - dt.timedelta(days=62)).isoformat()})
    assert too_long.value.errcode == 61501
