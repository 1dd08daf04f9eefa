"""Self-redemption: only where the card allows it, only one's own code, one upstream consume."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tests.story import ADMIN, bearer


def _holder(story, *, self_redeem=True):
    card_id = story.card()
    story.put_profile(card_id, self_redeem=self_redeem)
    user = story.user()
    token = story.login(user)
    _, encrypt_code = story.take(card_id, user, token=token)
    return card_id, token, story.my_code(token, encrypt_code), encrypt_code


def test_retries_under_one_key_redeem_once_under_concurrency(story, client):
    card_id, token, code, _ = _holder(story)
    before = story.calls("card/code/consume")
    key = {"Idempotency-Key": "tap-1"}

    def redeem(_: int, headers=key):
        return client.post("/v1/cards/codes/redeem", json={"card_id": card_id, "code": code},
                           headers={**bearer(token), **headers})

    with ThreadPoolExecutor(10) as pool:
        results = list(pool.map(redeem, range(10)))
    assert {r.status_code for r in results} == {200}
    assert len({r.json["redeemed_at"] for r in results}) == 1
    assert story.calls("card/code/consume") - before == 1
    again = redeem(0)
    assert again.status_code == 200 and again.json == results[0].json
    second = redeem(0, headers={})
    story.assert_error(second, 409, message="channel self")
    assert story.calls("card/code/consume") - before == 1
    mine = client.get("/v1/cards/mine", headers=bearer(token)).json["cards"]
    assert mine[0]["user_card_status"] == "CONSUMED"


def test_a_clerk_after_a_self_redemption_hears_when_and_through_which_channel(story, client):
    card_id, token, code, _ = _holder(story)
    mine = client.post("/v1/cards/codes/redeem", json={"card_id": card_id, "code": code},
                       headers=bearer(token))
    assert mine.status_code == 200
    clerk = client.post("/v1/admin/codes/redeem", json={"card_id": card_id, "code": code},
                        headers={**ADMIN, "Idempotency-Key": "till-1"})
    story.assert_error(clerk, 409, errcode=40099)
    assert clerk.json["message"].endswith(", channel self)")
    # ...and the other way round: a user whose code the clerk redeemed is not told staff ids.
    card_id, token, code, _ = _holder(story)
    clerk = client.post("/v1/admin/codes/redeem",
                        json={"card_id": card_id, "code": code, "staff_id": "s-9",
                              "location": "store 3"}, headers=ADMIN)
    assert clerk.status_code == 200
    mine = client.post("/v1/cards/codes/redeem", json={"card_id": card_id, "code": code},
                       headers={**bearer(token), "Idempotency-Key": "tap-2"})
    story.assert_error(mine, 409, message="in store 3")
    assert "channel counter" in mine.json["message"] and "s-9" not in mine.json["message"]


def test_redeem_by_encrypt_code(story):
    card_id, token, code, encrypt_code = _holder(story)
    res = story.redeem(token, card_id=card_id, encrypt_code=encrypt_code)
    assert res.status_code == 200 and res.json["code"] == code


def test_redeem_refused_where_the_card_does_not_allow_it(story):
    card_id, token, code, _ = _holder(story, self_redeem=False)
    assert story.redeem(token, card_id=card_id, code=code).status_code == 403
    assert story.calls("card/code/consume") == 0


def test_redeem_refused_for_another_users_code(story):
    card_id, _, code, _ = _holder(story)
    other = story.login(story.user())
    assert story.redeem(other, card_id=card_id, code=code).status_code == 403
    assert story.calls("card/code/consume") == 0


def test_redeem_input_and_unknown_codes(story):
    card_id, token, code, encrypt_code = _holder(story)
    for body in ({"card_id": card_id}, {"card_id": card_id, "code": code,
                                        "encrypt_code": encrypt_code}, {"code": code}):
        assert story.redeem(token, **body).status_code == 422, body
    assert story.redeem(token, card_id=card_id, code="999").status_code == 404
