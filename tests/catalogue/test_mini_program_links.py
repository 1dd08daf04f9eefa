"""Every Mini Program link WeChat takes on a card, on create and on update, in bff and in the
sandbox; a refused value never reaches WeChat."""

from __future__ import annotations

import pytest

from tests.catalogue.samples import coupon, member_card_for_mini_program
from tests.story import ADMIN

GH = "gh_86a091e50ad4@app"
BASE_LINKS = {f"{e}_app_brand_{f}": (GH if f == "user_name" else "pages/card/index?from=card")
              for e in ("custom", "promotion", "center") for f in ("user_name", "pass")}
MEMBER_LINKS = {
    "bonus_app_brand_user_name": GH, "bonus_app_brand_pass": "pages/bonus",
    "balance_app_brand_user_name": GH, "balance_app_brand_pass": "pages/balance",
    "custom_cell1": {"name": "Orders", "tips": "mine", "url": "https://example.com/o",
                     "app_brand_user_name": GH, "app_brand_pass": "pages/orders"},
    "custom_cell2": {"name": "Shop", "app_brand_user_name": GH, "app_brand_pass": "pages/shop"},
}


def patch(client, card_id, change):
    return client.patch(f"/v1/admin/cards/{card_id}", json=change, headers=ADMIN)


def test_every_link_is_taken_on_create_and_shown_by_card_get(story):
    card = member_card_for_mini_program(**MEMBER_LINKS)
    card["card"]["member_card"]["base_info"].update(BASE_LINKS, custom_url_name="Use",
                                                     custom_url="https://example.com/u")
    card_id = story.create_card(card)
    member = story.admin_card(card_id)["card"]["member_card"]
    assert {k: member["base_info"][k] for k in BASE_LINKS} == BASE_LINKS
    assert member["custom_cell2"]["app_brand_pass"] == "pages/shop"
    assert member["bonus_app_brand_user_name"] == GH


def test_every_link_is_taken_on_update(story, client):
    card_id = story.create_card(member_card_for_mini_program())
    res = patch(client, card_id, {"base_info": BASE_LINKS, **MEMBER_LINKS})
    assert res.status_code == 200, res.get_json()
    member = story.admin_card(card_id)["card"]["member_card"]
    assert member["base_info"]["custom_app_brand_user_name"] == GH
    assert member["balance_app_brand_pass"] == "pages/balance"
    # a page path alone is fine when the card already names its Mini Program
    res = patch(client, card_id, {"base_info": {"custom_app_brand_pass": "pages/other"}})
    assert res.status_code == 200, res.get_json()
    coupon_id = story.create_card(coupon())
    res = patch(client, coupon_id, {"base_info": {"promotion_app_brand_user_name": GH,
                                                  "promotion_app_brand_pass": "pages/p"}})
    assert res.status_code == 200, res.get_json()


@pytest.mark.parametrize("change, field", [
    ({"base_info": {"custom_app_brand_user_name": "wx1234567890abcdef"}}, "base_info"),
    ({"base_info": {"center_app_brand_user_name": GH,
                    "center_app_brand_pass": "pages/" + "x" * 130}}, "base_info"),
    ({"base_info": {"promotion_app_brand_user_name": GH,
                    "promotion_app_brand_pass": "pages/a b"}}, "base_info"),
    ({"bonus_app_brand_pass": "pages/bonus"}, "bonus_app_brand_pass"),
    ({"custom_cell1": {"name": "x", "app_brand_pass": "pages/x"}}, "custom_cell1"),
    ({"custom_cell2": {"name": "x", "app_brand_user_name": "gh_@app"}}, "custom_cell2"),
    ({"custom_field1": {"name": "x", "app_brand_pass": "pages/x"}}, "custom_field1"),
])
def test_refused_links_never_reach_wechat(story, client, change, field):
    card_id = story.create_card(member_card_for_mini_program())
    res = patch(client, card_id, change)
    assert field in str(story.assert_error(res, 422)), res.get_json()
    assert story.calls("card/update") == 0
    card = member_card_for_mini_program(**{k: v for k, v in change.items() if k != "base_info"})
    card["card"]["member_card"]["base_info"].update(change.get("base_info", {}))
    before = story.calls("card/create")
    story.assert_error(client.post("/v1/admin/cards", json=card, headers=ADMIN), 422)
    assert story.calls("card/create") == before


@pytest.mark.parametrize("change, errcode", [
    ({"base_info": {"custom_app_brand_user_name": "wx1234"}}, 47001),
    ({"base_info": {"custom_app_brand_pass": "pages/x"}}, 41011),  # no Mini Program on the card
    ({"bonus_app_brand_user_name": GH, "bonus_app_brand_pass": "p" * 129}, 45021),
    ({"custom_cell1": {"name": "x", "app_brand_pass": "pages/x"}}, 41011),
])
def test_the_sandbox_judges_links_as_wechat_does(story, change, errcode):
    token = story.token()
    card_id = story.call("/card/create", token, member_card_for_mini_program())["card_id"]
    answer = story.call("/card/update", token, {"card_id": card_id, "member_card": change})
    assert answer["errcode"] == errcode, answer
    good = story.call("/card/update", token, {"card_id": card_id, "member_card": {
        "base_info": BASE_LINKS, **MEMBER_LINKS}})
    assert good["errcode"] == 0, good
