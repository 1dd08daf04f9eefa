"""Code administration: unavailable, update (the holdings index follows), a user's cards as
WeChat sees them (reconciled into holdings)."""

from __future__ import annotations

from bff.domain import holdings
from bff.edges.events import process_pending
from bff.ground.store import keys
from tests.story import ADMIN, bearer


def post(client, path: str, body: dict):
    return client.post(f"/v1/admin/{path}", json=body, headers=ADMIN)


def wx_code(app, code: str, card_id: str | None = None) -> dict:
    with app.app_context():
        return app.extensions["bff"].wechat.code_get(code, card_id=card_id)


def test_an_unavailable_code_can_no_longer_be_used(story, app, client, redis_client):
    card = story.card()
    _, encrypted = story.take(card, signed_by="ticket")
    code = story.code_of(encrypted)
    process_pending(app)  # the user_get_card push records the holding
    res = post(client, "codes/unavailable", {"card_id": card, "code": code,
                                             "reason": "fraud report 17"})
    assert res.status_code == 200, res.json
    assert res.json == {"card_id": card, "code": code, "user_card_status": "UNAVAILABLE"}
    assert holdings.get_holding(redis_client, code).status == "UNAVAILABLE"
    assert wx_code(app, code)["user_card_status"] == "UNAVAILABLE"
    redeem = post(client, "codes/redeem", {"card_id": card, "code": code})
    story.assert_error(redeem, 409, errcode=40127)
    again = post(client, "codes/unavailable", {"card_id": card, "code": code})
    assert again.status_code == 409
    unknown = post(client, "codes/unavailable", {"card_id": card, "code": "999999999999"})
    story.assert_error(unknown, 404, errcode=40056)
    assert post(client, "codes/unavailable", {"code": code}).status_code == 422
    assert story.calls("card/code/consume") == 0


def test_a_custom_code_changes_and_its_holder_sees_the_new_one(story, app, client, redis_client):
    card = story.card(use_custom_code=True)
    user, _ = story.take(card, signed_by="ticket", code="GIFT-0001")
    process_pending(app)
    res = post(client, "codes/update", {"card_id": card, "code": "GIFT-0001",
                                        "new_code": "GIFT-0002"})
    assert res.status_code == 200, res.json
    assert res.json == {"card_id": card, "code": "GIFT-0002", "old_code": "GIFT-0001",
                        "holding_moved": True}
    moved = holdings.get_holding(redis_client, "GIFT-0002")
    assert moved.oa_openid == user["oa_openid"] and moved.old_code == "GIFT-0001"
    assert holdings.get_holding(redis_client, "GIFT-0001") is None
    assert not redis_client.sismember(keys.holdings_of("oa", user["oa_openid"]), "GIFT-0001")
    token = story.login(user, "h5")
    mine = client.get("/v1/cards/mine", headers=bearer(token)).json["cards"]
    assert [c["code"] for c in mine] == ["GIFT-0002"]
    assert wx_code(app, "GIFT-0002", card)["openid"] == user["oa_openid"]
    # The old code is gone upstream; a taken or WeChat-generated code cannot be the target.
    assert post(client, "codes/redeem", {"card_id": card, "code": "GIFT-0001"}).status_code == 404
    generated = story.card()
    _, encrypted = story.take(generated, signed_by="ticket")
    res = post(client, "codes/update", {"card_id": generated, "code": story.code_of(encrypted),
                                        "new_code": "MINE-1"})
    story.assert_error(res, 404, errcode=40056)
    same = post(client, "codes/update", {"card_id": card, "code": "GIFT-0002",
                                         "new_code": "GIFT-0002"})
    assert same.status_code == 404  # WeChat: the new code is taken (by itself)


def test_a_users_cards_per_wechat_restore_missing_holdings(story, app, client, redis_client):
    card_a, card_b = story.card(), story.card()
    user, first = story.take(card_a, signed_by="ticket")
    # The service missed these pushes (no event URL): WeChat still knows the user's cards.
    client.put("/sandbox/_sim/config", json={"event_url": ""})
    _, encrypted_b = story.take(card_b, user, signed_by="ticket")
    second_code = story.code_of(encrypted_b)
    first_code = story.code_of(first)
    redis_client.delete(keys.holding(first_code))
    redis_client.delete(keys.holdings_of("oa", user["oa_openid"]))
    res = client.get(f"/v1/admin/users/{user['oa_openid']}/cards", headers=ADMIN)
    assert res.status_code == 200, res.json
    assert sorted(res.json["cards"], key=lambda c: c["code"]) == sorted(
        [{"card_id": card_a, "code": first_code}, {"card_id": card_b, "code": second_code}],
        key=lambda c: c["code"])
    assert res.json["recorded"] == 2 and res.json["not_in_wechat"] == []
    assert holdings.get_holding(redis_client, second_code).oa_openid == user["oa_openid"]
    only_b = client.get(f"/v1/admin/users/{user['oa_openid']}/cards",
                        query_string={"card_id": card_b}, headers=ADMIN)
    assert only_b.json["cards"] == [{"card_id": card_b, "code": second_code}]
    assert only_b.json["recorded"] == 0
    # A code used outside the service's view leaves WeChat's list: reported, not guessed.
    story.sim(f"users/{user['oa_openid']}/cards/{first_code}/consume")
    res = client.get(f"/v1/admin/users/{user['oa_openid']}/cards", headers=ADMIN)
    assert res.json["not_in_wechat"] == [first_code]
    unknown = client.get("/v1/admin/users/o-nobody/cards", headers=ADMIN)
    story.assert_error(unknown, 404, errcode=40003)


def test_cli_codes_unavailable_update_redeem_and_users_cards(story, app, runner):
    card = story.card()
    user, encrypted = story.take(card, signed_by="ticket")
    code = story.code_of(encrypted)
    res = runner.invoke(args=["users", "cards", user["oa_openid"]])
    assert res.exit_code == 0 and code in res.output, res.output
    res = runner.invoke(args=["codes", "redeem", code, "--key", "till-1", "--staff-id", "s1"])
    assert res.exit_code == 0 and '"staff_id": "s1"' in res.output, res.output
    again = runner.invoke(args=["codes", "redeem", code, "--key", "till-1", "--staff-id", "s1"])
    assert again.exit_code == 0 and again.output == res.output
    other = runner.invoke(args=["codes", "redeem", code])
    assert other.exit_code == 1 and "already been redeemed" in other.output
    assert "by staff s1, channel counter" in other.output
    _, encrypted = story.take(card, signed_by="ticket")
    second = story.code_of(encrypted)
    res = runner.invoke(args=["codes", "unavailable", card, second, "--reason", "lost"])
    assert res.exit_code == 0 and "UNAVAILABLE" in res.output
    res = runner.invoke(args=["codes", "update", card, second, "X-1"])
    assert res.exit_code == 1 and "errcode" in res.output


def test_a_missing_holding_is_filled_from_wechat_when_the_user_asks(story, app, client):
    client.put("/sandbox/_sim/config", json={"event_url": ""})  # the service misses the push
    card = story.card()
    user, encrypted = story.take(card, signed_by="ticket")
    code = story.code_of(encrypted)
    token = story.login(user, "h5")  # an H5 session: the OA openid is known
    mine = client.get("/v1/cards/mine", headers=bearer(token)).json["cards"]
    assert [(c["card_id"], c["code"]) for c in mine] == [(card, code)]
    assert story.calls("card/user/getcardlist") == 1
    client.get("/v1/cards/mine", headers=bearer(token))
    assert story.calls("card/user/getcardlist") == 1  # not again within the minute
