"""Self-redemption: only where the card allows it, only one's own code, one upstream consume."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tests.sessions.helpers import (
    bearer,
    calls,
    login,
    new_user,
    put_profile,
    sign,
    sim_add_card,
    sim_card,
)
from tests.story import ADMIN


def _holder(client, *, self_redeem=True):
    card_id = sim_card(client)
    put_profile(client, card_id, self_redeem=self_redeem)
    user = new_user(client)
    token = login(client, user)
    [got] = sim_add_card(client, user, sign(client, token, {"card_id": card_id}).json["card_list"])
    code = client.post("/v1/cards/codes/decrypt", json={"encrypt_code": got["code"]},
                       headers=bearer(token)).json["code"]
    return card_id, token, code, got["code"]


def test_retries_under_one_key_redeem_once_under_concurrency(client):
    card_id, token, code, _ = _holder(client)
    before = calls(client).get("card/code/consume", 0)
    key = {"Idempotency-Key": "tap-1"}

    def redeem(_: int, headers=key):
        return client.post("/v1/cards/codes/redeem", json={"card_id": card_id, "code": code},
                           headers={**bearer(token), **headers})

    with ThreadPoolExecutor(10) as pool:
        results = list(pool.map(redeem, range(10)))
    assert {r.status_code for r in results} == {200}
    assert len({r.json["redeemed_at"] for r in results}) == 1
    assert calls(client).get("card/code/consume", 0) - before == 1
    again = redeem(0)
    assert again.status_code == 200 and again.json == results[0].json
    second = redeem(0, headers={})
    assert second.status_code == 409 and "channel self" in second.json["message"]
    assert calls(client).get("card/code/consume", 0) - before == 1
    mine = client.get("/v1/cards/mine", headers=bearer(token)).json["cards"]
    assert mine[0]["user_card_status"] == "CONSUMED"


def test_a_clerk_after_a_self_redemption_hears_when_and_through_which_channel(client):
    card_id, token, code, _ = _holder(client)
    mine = client.post("/v1/cards/codes/redeem", json={"card_id": card_id, "code": code},
                       headers=bearer(token))
    assert mine.status_code == 200
    clerk = client.post("/v1/admin/codes/redeem", json={"card_id": card_id, "code": code},
                        headers={**ADMIN, "Idempotency-Key": "till-1"})
    assert clerk.status_code == 409 and clerk.json["errcode"] == 40099
    assert clerk.json["message"].endswith(", channel self)")
    # ...and the other way round: a user whose code the clerk redeemed is not told staff ids.
    card_id, token, code, _ = _holder(client)
    clerk = client.post("/v1/admin/codes/redeem",
                        json={"card_id": card_id, "code": code, "staff_id": "s-9",
                              "location": "store 3"}, headers=ADMIN)
    assert clerk.status_code == 200
    mine = client.post("/v1/cards/codes/redeem", json={"card_id": card_id, "code": code},
                       headers={**bearer(token), "Idempotency-Key": "tap-2"})
    assert mine.status_code == 409 and "in store 3" in mine.json["message"]
    assert "channel counter" in mine.json["message"] and "s-9" not in mine.json["message"]


def test_redeem_by_encrypt_code(client):
    card_id, token, code, encrypt_code = _holder(client)
    res = client.post("/v1/cards/codes/redeem",
                      json={"card_id": card_id, "encrypt_code": encrypt_code},
                      headers=bearer(token))
    assert res.status_code == 200 and res.json["code"] == code


def test_redeem_refused_where_the_card_does_not_allow_it(client):
    card_id, token, code, _ = _holder(client, self_redeem=False)
    res = client.post("/v1/cards/codes/redeem", json={"card_id": card_id, "code": code},
                      headers=bearer(token))
    assert res.status_code == 403
    assert calls(client).get("card/code/consume", 0) == 0


def test_redeem_refused_for_another_users_code(client):
    card_id, _, code, _ = _holder(client)
    other = login(client, new_user(client))
    res = client.post("/v1/cards/codes/redeem", json={"card_id": card_id, "code": code},
                      headers=bearer(other))
    assert res.status_code == 403
    assert calls(client).get("card/code/consume", 0) == 0


def test_redeem_input_and_unknown_codes(client):
    card_id, token, code, encrypt_code = _holder(client)
    for body in ({"card_id": card_id}, {"card_id": card_id, "code": code,
                                        "encrypt_code": encrypt_code}, {"code": code}):
        res = client.post("/v1/cards/codes/redeem", json=body, headers=bearer(token))
        assert res.status_code == 422, body
    res = client.post("/v1/cards/codes/redeem", json={"card_id": card_id, "code": "999"},
                      headers=bearer(token))
    assert res.status_code == 404
