"""A test account's cards are never approved: whitelisted testers take them while in review."""

from __future__ import annotations

from tests.catalogue.samples import coupon
from tests.story import ADMIN


def whitelist(client, *openids: str):
    res = client.put("/v1/admin/test-whitelist", json={"openid": list(openids)}, headers=ADMIN)
    assert res.status_code == 200, res.get_json()


def test_a_tester_takes_a_card_in_review_and_everyone_else_gets_409(story, client):
    card_id = story.create_card(coupon())  # pending: WeChat's review never comes
    tester, stranger = story.user(), story.user()
    whitelist(client, tester["oa_openid"])
    assert story.calls("card/testwhitelist/set") == 1

    token = story.login(tester, app="h5")  # the session knows the OA openid
    signed = story.sign(token, {"card_id": card_id})
    assert signed.status_code == 200, signed.get_json()
    [got] = story.add_card(tester, signed.get_json()["card_list"])["card_list"]
    assert got["isSuccess"] is True
    assert story.my_code(token, got["code"])

    refused = story.sign(story.login(stranger, app="h5"), {"card_id": card_id})
    story.assert_error(refused, 409, message="review")
    # a Mini Program user whose OA openid is linked (unionid) is the same tester
    mp = story.sign(story.login(tester), {"card_id": card_id})
    assert mp.status_code == 200, mp.get_json()
    # the whitelist is read from Redis: WeChat was asked once, when it was set
    assert story.calls("card/testwhitelist/set") == 1


def test_the_sandbox_refuses_a_card_in_review_to_anyone_off_the_whitelist(story, client):
    card_id = story.create_card(coupon())
    tester, stranger = story.user(), story.user()
    whitelist(client, tester["oa_openid"])
    [taken] = story.add_card(tester, card_id)["card_list"]
    assert taken["isSuccess"] is True
    [refused] = story.add_card(stranger, card_id)["card_list"]
    assert refused["isSuccess"] is False and refused["errcode"] == 40078
    whitelist(client)  # emptied: the tester is a stranger again, in both
    story.assert_error(story.sign(story.login(tester, app="h5"), {"card_id": card_id}), 409)
    assert story.add_card(tester, card_id)["card_list"][0]["isSuccess"] is False


def test_a_qr_code_for_a_testers_openid_may_offer_a_card_in_review(story, client):
    card_id = story.create_card(coupon())
    tester, stranger = story.user(), story.user()
    whitelist(client, tester["oa_openid"])
    ok = client.post("/v1/admin/qrcodes", json={"cards": [
        {"card_id": card_id, "openid": tester["oa_openid"]}]}, headers=ADMIN)
    assert ok.status_code == 201, ok.get_json()
    for cards in ([{"card_id": card_id}], [{"card_id": card_id, "openid": stranger["oa_openid"]}]):
        res = client.post("/v1/admin/qrcodes", json={"cards": cards}, headers=ADMIN)
        story.assert_error(res, 409, message="review")
    assert story.calls("card/qrcode/create") == 1


def test_testers_never_take_a_refused_or_deleted_card(story, client):
    refused, deleted = story.create_card(coupon()), story.create_card(coupon())
    tester = story.user()
    whitelist(client, tester["oa_openid"])
    story.review(refused, approve=False, reason="logo is blurry")
    assert client.delete(f"/v1/admin/cards/{deleted}", headers=ADMIN).status_code == 204
    token = story.login(tester, app="h5")
    story.assert_error(story.sign(token, {"card_id": refused}), 409, message="refused")
    story.assert_error(story.sign(token, {"card_id": deleted}), 409, message="deleted")
