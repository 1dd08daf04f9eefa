"""Creating, reading, changing, restocking and deleting cards, and what review means for
issuing them."""

from __future__ import annotations

import pytest
import requests
from requests.adapters import BaseAdapter

from bff import SANDBOX_INTERNAL_BASE
from tests.catalogue.samples import coupon, member_card_for_mini_program, time_range
from tests.story import ADMIN, bearer


@pytest.mark.parametrize("card_type", ["GROUPON", "CASH", "DISCOUNT", "GIFT", "GENERAL_COUPON"])
def test_each_coupon_type_is_created_and_waits_for_review(client, story, card_type):
    card_id = story.create_card(coupon(card_type))
    got = story.admin_card(card_id)
    assert got["card"]["card_type"] == card_type
    assert got["review_state"] == "pending" and got["review_reason"] is None
    listed = client.get("/v1/admin/cards?status=CARD_STATUS_NOT_VERIFY", headers=ADMIN).get_json()
    assert listed == {"card_ids": [card_id], "total": 1}


def test_a_card_that_breaks_wechats_rules_is_refused_before_any_call(client, story):
    bad = coupon("CASH", title="一张名字远远超过九个汉字的代金券", color="Color999",
                 date_info=time_range(-1))
    del bad["card"]["cash"]["reduce_cost"]
    del bad["card"]["cash"]["base_info"]["logo_url"]
    answer = client.post("/v1/admin/cards", json=bad, headers=ADMIN)
    assert answer.status_code == 422
    errors = answer.get_json()["errors"]["json"]["card"]["cash"]
    assert set(errors["base_info"]) == {"title", "color", "logo_url", "date_info"}
    assert "27 bytes" in errors["base_info"]["title"][0]
    assert errors["reduce_cost"] == ["Missing data for required field."]
    assert "card/create" not in story.calls()


@pytest.mark.parametrize("change, field", [
    ({"wx_activate_after_submit": False}, "activate_app_brand_user_name"),
    ({"auto_activate": True}, "auto_activate"),
    ({"activate_app_brand_user_name": "wx1234567890abcdef"}, "activate_app_brand_user_name"),
    ({"supply_bonus": "yes"}, "supply_bonus"),
])
def test_member_card_activation_rules(client, story, change, field):
    card = member_card_for_mini_program(**change)
    answer = client.post("/v1/admin/cards", json=card, headers=ADMIN)
    assert answer.status_code == 422, answer.get_json()
    assert field in answer.get_json()["errors"]["json"]["card"]["member_card"]


def test_wrong_type_object_and_permanent_coupon_are_refused(client, story):
    mixed = coupon("GIFT")
    mixed["card"]["discount"] = {**mixed["card"]["gift"], "discount": 20}
    answer = client.post("/v1/admin/cards", json=mixed, headers=ADMIN)
    assert answer.status_code == 422
    assert answer.get_json()["errors"]["json"]["card"] == {
        "discount": ["not with card_type GIFT"]}
    missing = coupon("GIFT")
    missing["card"]["cash"] = missing["card"].pop("gift")
    answer = client.post("/v1/admin/cards", json=missing, headers=ADMIN)
    assert answer.status_code == 422 and "cash" in answer.get_json()["errors"]["json"]["card"]
    forever = coupon("GIFT", date_info={"type": "DATE_TYPE_PERMANENT"})
    assert client.post("/v1/admin/cards", json=forever, headers=ADMIN).status_code == 422


def test_changes_go_back_to_review_and_are_checked_against_the_card(client, story):
    card_id = story.create_card(coupon("GROUPON"))
    story.review(card_id)
    assert story.admin_card(card_id)["review_state"] == "approved"
    quiet = client.patch(f"/v1/admin/cards/{card_id}", headers=ADMIN,
                         json={"base_info": {"service_phone": "020-12345678"}})
    assert quiet.status_code == 200 and quiet.get_json() == {"send_check": False}
    assert story.admin_card(card_id)["review_state"] == "approved"
    reviewed = client.patch(f"/v1/admin/cards/{card_id}", headers=ADMIN,
                            json={"deal_detail": "三人套餐"})
    assert reviewed.get_json() == {"send_check": True}
    got = story.admin_card(card_id)
    assert got["review_state"] == "pending" and got["card"]["groupon"]["deal_detail"] == "三人套餐"
    for change, field in (({"prerogative": "x"}, "prerogative"),
                          ({"base_info": {"sku": {"quantity": 1}}}, "base_info"),
                          ({"base_info": {"brand_name": "别家"}}, "base_info"),
                          ({}, "_schema")):
        answer = client.patch(f"/v1/admin/cards/{card_id}", headers=ADMIN, json=change)
        assert answer.status_code == 422, (change, answer.get_json())
        body = answer.get_json()
        assert field in (body.get("errors", {}).get("json") or body.get("errors", {})), body


def test_stock_up_and_down(client, story):
    card_id = story.create_card(coupon("GIFT"))
    up = client.post(f"/v1/admin/cards/{card_id}/stock", json={"delta": 100}, headers=ADMIN)
    assert up.status_code == 200 and up.get_json() == {"delta": 100}
    down = client.post(f"/v1/admin/cards/{card_id}/stock", json={"delta": -50}, headers=ADMIN)
    assert down.get_json() == {"delta": -50}
    sku = story.admin_card(card_id)["card"]["gift"]["base_info"]["sku"]
    assert sku["quantity"] == 550
    too_much = client.post(f"/v1/admin/cards/{card_id}/stock", json={"delta": -1000},
                           headers=ADMIN)
    story.assert_error(too_much, 409, errcode=45031)
    zero = client.post(f"/v1/admin/cards/{card_id}/stock", json={"delta": 0}, headers=ADMIN)
    assert zero.status_code == 422


def test_unknown_card(client, story):
    unknown = "p" + "x" * 27
    assert client.get(f"/v1/admin/cards/{unknown}", headers=ADMIN).status_code == 404
    assert client.delete(f"/v1/admin/cards/{unknown}", headers=ADMIN).status_code == 404
    answer = client.post(f"/v1/admin/cards/{unknown}/stock", json={"delta": 1}, headers=ADMIN)
    story.assert_error(answer, 404, errcode=40073)
    # a path that is no card_id names no resource: 404, as the spec's card_id pattern says
    assert client.get("/v1/admin/cards/not%20a%20card", headers=ADMIN).status_code == 404


def test_operator_token_is_required(client, story):
    assert client.post("/v1/admin/cards", json=coupon()).status_code == 401
    assert client.get("/v1/admin/cards").status_code == 401
    assert client.get("/v1/admin/stats/wechat?kind=summary").status_code == 401


def test_a_card_not_yet_approved_cannot_be_issued_then_can(client, story):
    card_id = story.create_card(coupon("GENERAL_COUPON"))
    user = story.user()
    token = story.login(user)
    refused = client.post("/v1/cards/add-card", headers=bearer(token),
                          json={"cards": [{"card_id": card_id}]})
    assert refused.status_code == 409
    assert "has not passed WeChat's review" in refused.get_json()["message"]
    qr = client.post("/v1/admin/qrcodes", headers=ADMIN, json={"cards": [{"card_id": card_id}]})
    assert qr.status_code == 409
    story.review(card_id)
    signed = client.post("/v1/cards/add-card", headers=bearer(token),
                         json={"cards": [{"card_id": card_id}]})
    assert signed.status_code == 200
    taken = story.sim("add-card", {"user": user["mp_openid"],
                                   "card_list": signed.get_json()["card_list"]})
    assert taken["card_list"][0]["isSuccess"] is True


def test_a_refused_card_says_why_and_a_deleted_one_cannot_be_issued(client, story):
    refused_id = story.create_card(coupon("DISCOUNT"))
    story.review(refused_id, approve=False, reason="logo is blurry")
    got = story.admin_card(refused_id)
    assert (got["review_state"], got["review_reason"]) == ("rejected", "logo is blurry")
    page = client.post("/v1/admin/landing-pages", headers=ADMIN, json={
        "banner": "https://example.com/b.jpg", "page_title": "Offers", "can_share": True,
        "scene": "SCENE_H5", "card_list": [{"card_id": refused_id,
                                            "thumb_url": "https://example.com/t.jpg"}]})
    story.assert_error(page, 409, message="logo is blurry")

    gone = story.create_card(coupon("GIFT"))
    story.review(gone)
    assert client.delete(f"/v1/admin/cards/{gone}", headers=ADMIN).status_code == 204
    assert story.admin_card(gone)["review_state"] == "deleted"
    qr = client.post("/v1/admin/qrcodes", headers=ADMIN, json={"cards": [{"card_id": gone}]})
    story.assert_error(qr, 409, message="deleted")
    listed = client.get("/v1/admin/cards", headers=ADMIN).get_json()
    assert gone not in listed["card_ids"]


def test_a_missed_review_event_is_caught_up_from_wechat(client, story):
    card_id = story.create_card(coupon("GIFT"))
    client.put("/sandbox/_sim/config", json={"event_url": ""})  # the push is lost
    story.sim(f"cards/{card_id}/review", {"approve": True})
    assert story.admin_card(card_id)["review_state"] == "approved"  # card/get says VERIFY_OK
    user = story.user()
    signed = client.post("/v1/cards/add-card", headers=bearer(story.login(user)),
                         json={"cards": [{"card_id": card_id}]})
    assert signed.status_code == 200


def test_stock_running_low_shows_on_the_card(client, story):
    card_id = story.create_card(coupon("GROUPON", sku={"quantity": 300}))
    story.review(card_id)
    client.post(f"/v1/admin/cards/{card_id}/stock", json={"delta": -199}, headers=ADMIN)
    user = story.user()
    signed = client.post("/v1/cards/add-card", headers=bearer(story.login(user)),
                         json={"cards": [{"card_id": card_id}]}).get_json()
    story.sim("add-card", {"user": user["mp_openid"], "card_list": signed["card_list"]})
    story.handle_events()
    alert = story.admin_card(card_id)["stock_alert"]
    assert alert is not None and "100" in alert["detail"]


def test_the_activation_plug_in_of_a_member_card_under_review_is_refused(story):
    card_id = story.create_card(member_card_for_mini_program())
    token = story.login(story.user())
    refused = story.plugin(token, card_id)
    story.assert_error(refused, 409, message="review")
    story.review(card_id)
    assert story.plugin(token, card_id).status_code == 200


def test_an_idempotency_key_makes_retries_of_create_and_stock_safe(client, story):
    key = {**ADMIN, "Idempotency-Key": "create-lunch-1"}
    first = client.post("/v1/admin/cards", json=coupon("GIFT"), headers=key)
    again = client.post("/v1/admin/cards", json=coupon("GIFT"), headers=key)
    assert first.status_code == again.status_code == 201
    assert first.get_json() == again.get_json()
    assert story.calls("card/create") == 1
    other = client.post("/v1/admin/cards", json=coupon("CASH"), headers=key)
    story.assert_error(other, 422, message="already used for another request")

    card_id = first.get_json()["card_id"]
    stock_key = {**ADMIN, "Idempotency-Key": "restock-monday"}
    for _ in range(3):
        answer = client.post(f"/v1/admin/cards/{card_id}/stock", json={"delta": 100},
                             headers=stock_key)
        assert answer.status_code == 200 and answer.get_json() == {"delta": 100}
    assert story.admin_card(card_id)["card"]["gift"]["base_info"]["sku"]["quantity"] == 600
    assert story.calls("card/modifystock") == 1
    too_long = client.post(f"/v1/admin/cards/{card_id}/stock", json={"delta": 1},
                           headers={**ADMIN, "Idempotency-Key": "k" * 65})
    assert too_long.status_code == 422


class LoseStockAnswers(BaseAdapter):
    """WeChat changes the stock, then the answer is lost on the way back (a read timeout)."""

    def __init__(self, inner: BaseAdapter) -> None:
        super().__init__()
        self.inner = inner

    def send(self, request: requests.PreparedRequest, **kwargs):
        response = self.inner.send(request, **kwargs)
        if "/card/modifystock" in (request.url or ""):
            raise requests.ReadTimeout("answer lost", request=request)
        return response

    def close(self) -> None:
        self.inner.close()


def test_a_lost_answer_spends_the_key(client, story, app):
    card_id = story.create_card(coupon("GIFT"))
    session = app.extensions["bff"].wechat.client.session
    session.mount(SANDBOX_INTERNAL_BASE,
                  LoseStockAnswers(session.get_adapter(SANDBOX_INTERNAL_BASE + "/")))
    key = {**ADMIN, "Idempotency-Key": "slow-1"}
    lost = client.post(f"/v1/admin/cards/{card_id}/stock", json={"delta": 5}, headers=key)
    assert lost.status_code == 504
    retry = client.post(f"/v1/admin/cards/{card_id}/stock", json={"delta": 5}, headers=key)
    story.assert_error(retry, 409, message="answer was lost")  # WeChat cannot confirm it
    assert story.calls("card/modifystock") == 1
    assert story.admin_card(card_id)["card"]["gift"]["base_info"]["sku"]["quantity"] == 505


def test_a_deposit_mode_card_is_created_without_stock(client, story):
    deposit = {"use_custom_code": True, "get_custom_code_mode": "GET_CUSTOM_CODE_MODE_DEPOSIT"}
    answer = client.post("/v1/admin/cards", json=coupon("GROUPON", **deposit), headers=ADMIN)
    assert answer.status_code == 422
    assert answer.get_json()["errors"]["json"]["card"]["groupon"]["base_info"] == {
        "sku": {"quantity": ["0 with get_custom_code_mode: add stock after importing the "
                             "codes"]}}
    story.create_card(coupon("GROUPON", sku={"quantity": 0}, **deposit))


def test_issuing_refusals_for_a_cards_required_fields_are_422s(client, story):
    custom = story.sim("cards", {"use_custom_code": True})["card_id"]
    qr = client.post("/v1/admin/qrcodes", headers=ADMIN, json={"cards": [{"card_id": custom}]})
    story.assert_error(qr, 422, errcode=41011)
    page = client.post("/v1/admin/landing-pages", headers=ADMIN, json={
        "banner": "https://example.com/b.jpg", "page_title": "Offers", "can_share": False,
        "scene": "SCENE_MENU", "card_list": [{"card_id": custom,
                                              "thumb_url": "https://example.com/t.jpg"}]})
    story.assert_error(page, 422, errcode=47001)
