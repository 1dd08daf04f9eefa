"""A merchant creates a member card for the Mini Program flow and sets its activation form; a
user activates it through the plug-in, which asks exactly for what was configured."""

from __future__ import annotations

from tests.catalogue.samples import coupon, member_card_for_mini_program
from tests.story import ADMIN, bearer

FORM = {
    "service_statement": {"name": "会员守则", "url": "https://example.com/rules"},
    "bind_old_card": {"name": "老会员绑卡", "url": "https://example.com/bind"},
    "required_form": {
        "can_modify": False,
        "common_field_id_list": ["USER_FORM_INFO_FLAG_MOBILE", "USER_FORM_INFO_FLAG_NAME"],
        "rich_field_list": [{"type": "FORM_FIELD_RADIO", "name": "口味",
                             "values": ["微辣", "中辣", "特辣"]}],
    },
    "optional_form": {
        "common_field_id_list": ["USER_FORM_INFO_FLAG_BIRTHDAY"],
        "custom_field_list": ["推荐人"],
    },
}
FILLED = {"USER_FORM_INFO_FLAG_MOBILE": "13800000000", "USER_FORM_INFO_FLAG_NAME": "王小明"}


def test_member_card_for_the_mini_program_from_creation_to_activation(client, story):
    card_id = story.create_card(member_card_for_mini_program())
    got = story.admin_card(card_id)
    member = got["card"]["member_card"]
    assert member["wx_activate"] is True and member["wx_activate_after_submit"] is True
    assert member["activate_app_brand_user_name"] == "gh_86a091e50ad4@app"
    assert member["activate_app_brand_pass"] == "pages/member/activate"
    assert member["supply_bonus"] is True and member["supply_balance"] is True
    assert got["review_state"] == "pending"

    stored = client.put(f"/v1/admin/cards/{card_id}/activation-form", json=FORM, headers=ADMIN)
    assert stored.status_code == 200, stored.get_json()
    read = client.get(f"/v1/admin/cards/{card_id}/activation-form", headers=ADMIN).get_json()
    assert read["required_form"]["common_field_id_list"] == FORM["required_form"][
        "common_field_id_list"]
    assert read["bind_old_card"] == FORM["bind_old_card"]
    story.review(card_id)

    user = story.user()
    token = story.login(user)
    extra = story.plugin(token, card_id).get_json()["extraData"]
    form = {"user": user["oa_openid"], **extra}
    # The plug-in refuses what the form does not ask for, and an empty required field.
    for fields, custom, why in (
        ({**FILLED, "USER_FORM_INFO_FLAG_IDCARD": "x"}, {"口味": "微辣"}, "does not ask"),
        ({"USER_FORM_INFO_FLAG_MOBILE": "13800000000"}, {"口味": "微辣"}, "required"),
        (FILLED, {}, "required"),
        (FILLED, {"口味": "不辣"}, "must be one of"),
        (FILLED, {"口味": "微辣", "爱好": "x"}, "does not ask"),
    ):
        refused = client.post("/sandbox/_sim/activation-form",
                              json={**form, "fields": fields, "custom_fields": custom})
        assert refused.status_code == 422 and why in refused.get_json()["message"], fields
    returned = story.sim("activation-form", {
        **form, "fields": {**FILLED, "USER_FORM_INFO_FLAG_BIRTHDAY": "1990-05-01"},
        "custom_fields": {"口味": "中辣", "推荐人": "李雷"}})
    activated = story.activate(token, returned)
    assert activated.status_code == 200, activated.get_json()
    assert activated.get_json()["fields"] == {
        "mobile": "13800000000", "name": "王小明", "birthday": "1990-05-01",
        "口味": "中辣", "推荐人": "李雷"}
    info = client.get(f"/v1/membership/cards/{card_id}", headers=bearer(token)).get_json()
    assert info["has_active"] is True and info["code"] == returned["code"]
    bonus_before = info["bonus"]

    # An operator adds bonus twice under one Idempotency-Key: one change, one updateuser.
    path = f"/v1/admin/members/{card_id}/{returned['code']}/changes"
    body = {"add_bonus": 50, "record_bonus": "welcome gift"}
    first = client.post(path, json=body, headers={**ADMIN, "Idempotency-Key": "gift-1"})
    again = client.post(path, json=body, headers={**ADMIN, "Idempotency-Key": "gift-1"})
    assert (first.status_code, again.status_code) == (201, 200), first.get_json()
    assert again.get_json() == first.get_json()
    assert first.get_json()["result_bonus"] == bonus_before + 50
    assert story.calls("card/membercard/updateuser") == 1
    info = client.get(f"/v1/membership/cards/{card_id}", headers=bearer(token)).get_json()
    assert info["bonus"] == bonus_before + 50
    ledger = client.get(path, headers=ADMIN).get_json()["changes"]
    assert [(c["key"], c["add_bonus"], c["source"]) for c in ledger] == [("gift-1", 50, "api")]


def test_activation_form_rules(client, story):
    card_id = story.create_card(member_card_for_mini_program())
    for body, field in (
        ({"required_form": {"common_field_id_list": ["USER_FORM_INFO_FLAG_SHOE_SIZE"]}},
         "required_form"),
        ({"required_form": {"common_field_id_list": ["USER_FORM_INFO_FLAG_MOBILE"]},
          "optional_form": {"common_field_id_list": ["USER_FORM_INFO_FLAG_MOBILE"]}},
         "optional_form"),
        ({"service_statement": {"name": "守则"}}, "service_statement"),
        ({}, "_schema"),
        ({"required_form": {"rich_field_list": [{"type": "FORM_FIELD_RADIO", "name": "x",
                                                 "values": []}]}}, "required_form"),
    ):
        answer = client.put(f"/v1/admin/cards/{card_id}/activation-form", json=body,
                            headers=ADMIN)
        assert answer.status_code == 422, body
        assert field in answer.get_json()["errors"]["json"], answer.get_json()
    gift = story.create_card(coupon("GIFT"))
    answer = client.put(f"/v1/admin/cards/{gift}/activation-form", headers=ADMIN,
                        json={"required_form": {"common_field_id_list": [
                          "USER_FORM_INFO_FLAG_MOBILE"]}})
    story.assert_error(answer, 422, errcode=47001)
    assert client.get(f"/v1/admin/cards/{gift}/activation-form", headers=ADMIN).status_code == 404


def test_a_coupon_created_issued_redeemed_shows_consumed_in_mine_and_statistics(client, story):
    """The catalogue's coupon end to end: created through the service, reviewed, taken through
    a signed cardExt, redeemed at the counter; mine and the channel statistics follow."""
    card_id = story.create_card(coupon("GROUPON"))
    user = story.user()
    token = story.login(user)
    refused = client.post("/v1/cards/add-card", json={"cards": [{"card_id": card_id}]},
                          headers=bearer(token))
    assert refused.status_code == 409  # not reviewed yet: it cannot be issued
    story.review(card_id)
    _, encrypted = story.take(card_id, user, token=token, outer_str="poster")
    code = story.my_code(token, encrypted)
    redeemed = client.post("/v1/admin/codes/redeem", headers={**ADMIN, "Idempotency-Key": "t1"},
                           json={"card_id": card_id, "code": code, "staff_id": "till-1"})
    assert redeemed.status_code == 200, redeemed.get_json()
    story.handle_events()
    mine = client.get("/v1/cards/mine", headers=bearer(token)).get_json()["cards"]
    assert [(c["code"], c["user_card_status"]) for c in mine] == [(code, "CONSUMED")]
    rows = client.get("/v1/admin/stats/channels", headers=ADMIN,
                      query_string={"card_id": card_id}).get_json()["rows"]
    poster = [r for r in rows if r["outer_str"] == "poster"]
    assert poster and sum(r["received"] for r in poster) == 1
    assert sum(r["consumed"] for r in poster) == 1
