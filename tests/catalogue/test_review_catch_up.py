"""A lost review verdict (WeChat gives up on a push after 3 tries) never blocks a card: the
issuing path asks card/get about a card still pending, at most once per
``REVIEW_RECHECK_SECONDS``, one request for all."""

from __future__ import annotations

import threading

from bff.domain.catalogue import REVIEW_RECHECK_SECONDS
from bff.ground.store import keys
from tests.catalogue.samples import coupon
from tests.story import ADMIN, bearer


def add_card(client, token: str, card_id: str):
    return client.post("/v1/cards/add-card", headers=bearer(token),
                       json={"cards": [{"card_id": card_id}]})


def test_a_dropped_approval_push_does_not_block_issuing(client, story):
    card_id = story.create_card(coupon("GROUPON"))
    client.put("/sandbox/_sim/config", json={"push_drop": 3})  # WeChat gives up on the push
    [push] = story.sim(f"cards/{card_id}/review", {"approve": True})["pushed"]
    assert push["delivered"] is False and push["attempts"] == 3
    client.put("/sandbox/_sim/config", json={"push_drop": 0})
    story.handle_events()
    user = story.user()
    signed = add_card(client, story.login(user), card_id)  # no operator opened the card
    assert signed.status_code == 200, signed.get_json()
    [entry] = story.sim("add-card", {"user": user["mp_openid"],
                                     "card_list": signed.get_json()["card_list"]})["card_list"]
    assert entry["isSuccess"]
    qr = client.post("/v1/admin/qrcodes", headers=ADMIN, json={"cards": [{"card_id": card_id}]})
    assert qr.status_code == 201, qr.get_json()


def test_a_pending_card_is_asked_about_at_most_once_per_interval(client, story, redis_client):
    card_id = story.create_card(coupon("GIFT"))
    token = story.login(story.user())
    before = story.calls("card/get")
    for _ in range(3):
        story.assert_error(add_card(client, token, card_id), 409, message="review")
    assert story.calls("card/get") == before + 1  # still in review: asked once
    ttl = redis_client.ttl(keys.review_asked(card_id))
    assert 0 < ttl <= REVIEW_RECHECK_SECONDS
    client.put("/sandbox/_sim/config", json={"event_url": ""})  # the verdict's push is lost
    story.sim(f"cards/{card_id}/review", {"approve": False, "reason": "blurry logo"})
    story.assert_error(add_card(client, token, card_id), 409, message="review")
    redis_client.delete(keys.review_asked(card_id))  # the interval has passed
    refused = add_card(client, token, card_id)
    story.assert_error(refused, 409, message="refused by WeChat's review")
    assert story.calls("card/get") == before + 2


def test_requests_at_once_ask_wechat_once(client, story, app):
    card_id = story.create_card(coupon("CASH"))
    client.put("/sandbox/_sim/config", json={"event_url": ""})
    story.sim(f"cards/{card_id}/review", {"approve": True})
    tokens = [story.login(story.user()) for _ in range(6)]
    story.fault("card/get", latency_ms=300)
    before = story.calls("card/get")
    answers: list[int] = []
    start = threading.Barrier(len(tokens))

    def take(token: str) -> None:
        own = app.test_client()
        start.wait()
        answers.append(add_card(own, token, card_id).status_code)

    threads = [threading.Thread(target=take, args=(t,)) for t in tokens]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert answers == [200] * len(tokens)
    assert story.calls("card/get") == before + 1
