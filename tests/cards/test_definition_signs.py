"""What add-card signs comes from the card's own definition: bind_openid and its code mode.

Every combination goes create (POST /v1/admin/cards) -> add-card -> the sandbox's wx.addCard.
"""

from __future__ import annotations

import json

import pytest

from tests.catalogue.samples import coupon
from tests.story import ADMIN

DEPOSIT = "GET_CUSTOM_CODE_MODE_DEPOSIT"
CODES = {
    "wechat": {},
    "custom": {"use_custom_code": True},
    "deposit": {"use_custom_code": True, "get_custom_code_mode": DEPOSIT, "sku": {"quantity": 0}},
}


def approved_card(story, client, bind: bool, kind: str) -> str:
    card_id = story.create_card(coupon("GROUPON", bind_openid=bind, **CODES[kind]))
    story.review(card_id)
    if kind == "custom":  # the service hands out the merchant's codes from its pool
        res = client.post(f"/v1/admin/cards/{card_id}/pool", json={"codes": ["C0001"]},
                          headers=ADMIN)
        assert res.get_json()["available"] == 1
    if kind == "deposit":  # imported into WeChat, then stock
        assert client.post(f"/v1/admin/cards/{card_id}/codes", json={"codes": ["D0001"]},
                           headers=ADMIN).status_code == 200
        assert client.post(f"/v1/admin/cards/{card_id}/stock", json={"delta": 1},
                           headers=ADMIN).status_code == 200
    return card_id


@pytest.mark.parametrize("kind", list(CODES))
@pytest.mark.parametrize("bind", [True, False])
def test_add_card_signs_what_the_definition_says(story, client, bind, kind):
    card_id = approved_card(story, client, bind, kind)
    profile = client.get(f"/v1/admin/cards/{card_id}/profile", headers=ADMIN).get_json()
    assert profile["bind_openid"] is bind and profile["defined_code"] == kind
    assert profile["code_mode"] == {"wechat": "none", "custom": "pool",
                                    "deposit": "deposit"}[kind]

    user = story.user()
    token = story.login(user, app="h5")
    signed = story.sign(token, {"card_id": card_id})
    assert signed.status_code == 200, signed.get_json()
    ext = json.loads(signed.get_json()["card_list"][0]["cardExt"])
    assert ext.get("openid") == (user["oa_openid"] if bind else None)
    assert ext.get("code") == ("C0001" if kind == "custom" else None)
    [got] = story.add_card(user, signed.get_json()["card_list"])["card_list"]
    assert got["isSuccess"] is True, got
    code = story.my_code(token, got["code"])
    assert code == {"custom": "C0001", "deposit": "D0001"}.get(kind, code)


def test_a_bound_card_is_not_taken_by_someone_else_with_the_cardext(story, client):
    card_id = approved_card(story, client, True, "wechat")
    user, other = story.user(), story.user()
    signed = story.sign(story.login(user, app="h5"), {"card_id": card_id}).get_json()
    [got] = story.add_card(other, signed["card_list"])["card_list"]
    assert got["isSuccess"] is False and got["errcode"] == 40003


def test_the_profile_cannot_contradict_the_definition(story, client):
    card_id = story.create_card(coupon("GROUPON", bind_openid=True))
    for body, field in (({"bind_openid": False}, "bind_openid"), ({"code_mode": "pool"},
                                                                  "code_mode")):
        res = client.put(f"/v1/admin/cards/{card_id}/profile", json=body, headers=ADMIN)
        assert story.assert_error(res, 422)["errors"][field]
    assert story.put_profile(card_id, bind_openid=True, self_redeem=True)["self_redeem"]
    deposit = story.create_card(coupon("GROUPON", **CODES["deposit"]))
    assert story.put_profile(deposit, code_mode="pool")["code_mode"] == "pool"  # same codes
