"""`mine` and the channel statistics follow every redemption: at the counter, by the holder,
and outside the service (WeChat's own verification), through WeChat's user_consume_card."""

from __future__ import annotations

from bff.edges.events import process_pending
from tests.story import ADMIN, bearer


def test_counter_self_and_outside_redemptions_show_in_mine_and_statistics(story, app, client):
    card = story.card()
    story.put_profile(card, self_redeem=True)
    user = story.user()
    counter, mine_code, outside = (story.take_and_open(card, user, outer_str="poster")
                                   for _ in range(3))
    token = story.login(user)
    process_pending(app)
    assert story.channel_stats(card)["poster"] == {"received": 3, "consumed": 0, "deleted": 0,
                                                   "gifted": 0}

    res = client.post("/v1/admin/codes/redeem", json={"card_id": card, "code": counter},
                      headers={**ADMIN, "Idempotency-Key": "till-1"})
    assert res.status_code == 200, res.json
    res = client.post("/v1/cards/codes/redeem", json={"card_id": card, "code": mine_code},
                      headers={**bearer(token), "Idempotency-Key": "tap-1"})
    assert res.status_code == 200, res.json
    res = client.post(f"/sandbox/_sim/users/{user['oa_openid']}/cards/{outside}/consume",
                      json={"location_name": "Store 5"})
    assert res.status_code == 200, res.json
    early = client.post("/v1/admin/codes/redeem", json={"card_id": card, "code": outside},
                        headers=ADMIN)
    story.assert_error(early, 409, message="outside this service")

    counts = process_pending(app)
    assert counts == {"done": 3}, counts
    mine = {c["code"]: c["user_card_status"]
            for c in client.get("/v1/cards/mine", headers=bearer(token)).json["cards"]}
    assert mine == {counter: "CONSUMED", mine_code: "CONSUMED", outside: "CONSUMED"}
    assert story.channel_stats(card)["poster"] == {"received": 3, "consumed": 3, "deleted": 0,
                                                   "gifted": 0}
    events = client.get("/v1/admin/events", query_string={"limit": 100},
                        headers=ADMIN).json["events"]
    sources = {e["code"]: e["fields"]["ConsumeSource"] for e in events
               if e["event"] == "user_consume_card"}
    assert sources == {counter: "FROM_API", mine_code: "FROM_API",
                       outside: "FROM_MOBILE_HELPER"}
    # Once WeChat's push is handled, a clerk hears when, where and how it was redeemed.
    late = client.post("/v1/admin/codes/redeem", json={"card_id": card, "code": outside},
                       headers={**ADMIN, "Idempotency-Key": "till-2"})
    assert late.status_code == 409 and late.json["message"].endswith(
        "in Store 5, channel wechat (FROM_MOBILE_HELPER))"), late.json
    again = client.post("/v1/admin/codes/redeem", json={"card_id": card, "code": counter},
                        headers={**ADMIN, "Idempotency-Key": "till-1"})
    assert again.status_code == 200 and again.json["channel"] == "counter"
    # Replays of the pushes change nothing; the statistics count each redemption once.
    assert process_pending(app) == {}
    assert story.channel_stats(card)["poster"]["consumed"] == 3
