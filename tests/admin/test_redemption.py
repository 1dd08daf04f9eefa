"""Counter redemption: query first, consume once, every caller gets the first outcome."""

from __future__ import annotations

import json
import threading
import time
from urllib.parse import quote

import pytest

from bff.domain import redemption as ledger
from bff.ground.store import keys
from tests.story import ADMIN


def query(client, **body):
    return client.post("/v1/admin/codes/query", json=body, headers=ADMIN)


def redeem(client, headers=None, **body):
    return client.post("/v1/admin/codes/redeem", json=body, headers={**ADMIN, **(headers or {})})


def test_query_by_code_and_by_encrypt_code_however_the_url_mangled_it(story, app, client):
    card = story.card()
    user, encrypted = story.take(card, signed_by="ticket")
    code = story.code_of(encrypted)
    res = query(client, code=code)
    assert res.status_code == 200, res.json
    assert res.json["card_id"] == card and res.json["openid"] == user["oa_openid"]
    assert res.json["can_consume"] is True and res.json["user_card_status"] == "NORMAL"
    assert isinstance(res.json["begin_time"], int) and isinstance(res.json["end_time"], int)
    for variant in (encrypted, quote(encrypted, safe=""), encrypted.replace("+", " ")):
        res = query(client, card_id=card, encrypt_code=variant)
        assert res.status_code == 200, (variant, res.json)
        assert res.json["code"] == code


def test_query_needs_exactly_one_of_code_and_encrypt_code(client):
    assert query(client).status_code == 422
    assert query(client, code="1", encrypt_code="x").status_code == 422


def redeem_at_once(app, bodies: list[tuple[dict, str | None]]) -> list[tuple[int, dict]]:
    """Each (body, Idempotency-Key) posted by its own client, all released together."""
    barrier = threading.Barrier(len(bodies))
    answers: list = [None] * len(bodies)

    def one(i: int) -> None:
        body, key = bodies[i]
        headers = {**ADMIN, **({"Idempotency-Key": key} if key else {})}
        c = app.test_client()
        barrier.wait()
        res = c.post("/v1/admin/codes/redeem", headers=headers, json=body)
        answers[i] = (res.status_code, res.json)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(bodies))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return answers


def test_ten_concurrent_retries_under_one_key_make_one_consume_and_the_same_answer(
        story, app, client):
    card = story.card()
    user, encrypted = story.take(card, signed_by="ticket")
    code = story.code_of(encrypted)
    body = {"card_id": card, "code": code, "staff_id": "s1", "location": "store 12"}
    answers = redeem_at_once(app, [(body, "till-7-sale-1")] * 10)
    assert {a[0] for a in answers} == {200}, answers
    first = answers[0][1]
    assert all(a[1] == first for a in answers)
    assert first["code"] == code and first["openid"] == user["oa_openid"]
    assert first["location"] == "store 12" and first["staff_id"] == "s1"
    assert first["channel"] == "counter" and "key" not in first
    assert story.calls("card/code/consume") == 1
    # Later: the same key is a retry (the first answer); another key or none is a second
    # redemption, refused with when, where, by whom and through which channel.
    again = redeem(client, **body, headers={"Idempotency-Key": "till-7-sale-1"})
    assert again.status_code == 200 and again.json == first
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(first["redeemed_at"]))
    for headers in ({"Idempotency-Key": "till-9-sale-4"}, {}):
        second = redeem(client, code=code, staff_id="late", headers=headers)
        story.assert_error(second, 409, errcode=40099)
        assert second.json["message"] == ("the code has already been redeemed (at "
                                          f"{when} in store 12 by staff s1, channel counter)")
    info = query(client, card_id=card, code=code)
    story.assert_error(info, 409, errcode=40099)
    assert "by staff s1" in info.json["message"]
    assert story.calls("card/code/consume") == 1


def test_ten_concurrent_redemptions_under_ten_keys_one_wins_the_others_hear_who(story, app):
    card = story.card()
    _, encrypted = story.take(card, signed_by="ticket")
    code = story.code_of(encrypted)
    answers = redeem_at_once(app, [({"code": code, "staff_id": f"s{i}"}, f"key-{i}")
                                   for i in range(10)])
    won = [a for a in answers if a[0] == 200]
    lost = [a for a in answers if a[0] != 200]
    assert len(won) == 1 and {a[0] for a in lost} == {409}, answers
    winner = won[0][1]["staff_id"]
    assert all(f"by staff {winner}, channel counter" in a[1]["message"] for a in lost)
    assert story.calls("card/code/consume") == 1


def test_a_key_redeems_one_code_only(story, app, client):
    card = story.card()
    codes = [story.code_of(story.take(card, signed_by="ticket")[1]) for _ in range(2)]
    assert redeem(client, code=codes[0], headers={"Idempotency-Key": "k-1"}).status_code == 200
    reused = redeem(client, code=codes[1], headers={"Idempotency-Key": "k-1"})
    story.assert_error(reused, 422, message="another code")
    for bad in ("", "x" * 65, "has space", "ключ"):
        res = redeem(client, code=codes[1], headers={"Idempotency-Key": bad})
        assert res.status_code == 422, bad
    assert story.calls("card/code/consume") == 1


def consume_in_flight_past_its_claim(r, code: str) -> None:
    """Wait until the first attempt's consume is in flight and its claim has expired."""
    deadline = time.monotonic() + 10
    while not (r.exists(keys.redeem_inflight(code)) and not r.exists(keys.redeem_claim(code))):
        assert time.monotonic() < deadline, "the first attempt never got its consume going"
        time.sleep(0.01)


def first_and_retry_past_its_claim(app, r, body: dict, key: str) -> dict[str, tuple[int, dict]]:
    """Redeem ``body`` at the counter twice with one Idempotency-Key: "first" at once, "retry"
    once the first's consume is in flight past its claim, with the same body (a retry);
    (status, JSON) by attempt."""
    answers: dict[str, tuple[int, dict]] = {}

    def attempt(name: str, wait: bool) -> None:
        if wait:
            consume_in_flight_past_its_claim(r, body["code"])
        res = app.test_client().post("/v1/admin/codes/redeem", json={**body, "staff_id": "till"},
                                     headers={**ADMIN, "Idempotency-Key": key})
        answers[name] = (res.status_code, res.json)

    threads = [threading.Thread(target=attempt, args=("first", False)),
               threading.Thread(target=attempt, args=("retry", True))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return answers


@pytest.mark.slow  # seconds of real waiting (timeouts, renewals, outages)
def test_a_consume_that_outlives_its_claim_never_409s_its_own_retry(story, app, client, monkeypatch,
                                                                    redis_client):
    """The first request's consume stalls past its claim; its retry (same key) takes the claim
    meanwhile. Both get the one redemption's answer; another key is told who redeemed it."""
    monkeypatch.setattr(ledger, "CLAIM_TTL_MS", 200)
    card = story.card()
    user, encrypted = story.take(card, signed_by="ticket")
    code = story.code_of(encrypted)
    story.fault("card/code/consume", latency_ms=1500)  # the first consume only
    answers = first_and_retry_past_its_claim(app, redis_client, {"card_id": card, "code": code},
                                             "sale-77")
    assert answers["first"][0] == 200 and answers["retry"][0] == 200, answers
    assert answers["first"][1] == answers["retry"][1]
    assert answers["first"][1]["openid"] == user["oa_openid"]
    # WeChat applied one of the two consumes; the ledger names the one that did.
    assert story.calls("card/code/consume") == 2
    other = redeem(client, card_id=card, code=code, headers={"Idempotency-Key": "sale-78"})
    assert other.status_code == 409
    assert f"by staff {answers['first'][1]['staff_id']}" in other.json["message"]


@pytest.mark.slow  # seconds of real waiting (timeouts, renewals, outages)
def test_a_consume_whose_answer_outlives_its_claim_is_one_consume_for_its_retry(
        story, app, client, monkeypatch, redis_client):
    """WeChat applies the first consume at once but answers after the claim expired; the retry
    (same key) hears "consumed" from WeChat and answers from the first attempt's in-flight
    record: the same answer for both, one consume."""
    monkeypatch.setattr(ledger, "CLAIM_TTL_MS", 200)
    card = story.card()
    _, encrypted = story.take(card, signed_by="ticket")
    code = story.code_of(encrypted)
    story.fault("card/code/consume", latency_after_ms=1500)
    answers = first_and_retry_past_its_claim(
        app, redis_client, {"card_id": card, "code": code, "location": "store 2"}, "sale-90")
    assert answers["first"][0] == 200 and answers["retry"][0] == 200, answers
    assert answers["first"][1] == answers["retry"][1]
    assert answers["first"][1]["staff_id"] == "till"
    assert story.calls("card/code/consume") == 1
    other = redeem(client, card_id=card, code=code)
    story.assert_error(other, 409, message="by staff till, channel counter")


def test_redeem_with_encrypt_code(story, app, client):
    card = story.card()
    _, encrypted = story.take(card, signed_by="ticket")
    res = redeem(client, encrypt_code=quote(encrypted, safe=""), staff_id="a", location="b")
    assert res.status_code == 200, res.json
    assert res.json["code"] == story.code_of(encrypted)
    assert set(res.json) >= {"card_id", "code", "openid", "redeemed_at", "staff_id", "location"}


def test_unusable_codes_are_explained(story, app, client):
    card = story.card()
    user, encrypted = story.take(card, signed_by="ticket")
    code = story.code_of(encrypted)
    unknown = redeem(client, card_id=card, code="999999999999")
    story.assert_error(unknown, 404, errcode=40056)
    story.sim(f"users/{user['oa_openid']}/cards/{code}/delete")
    for call in (query, redeem):
        res = call(client, card_id=card, code=code)
        story.assert_error(res, 409, errcode=40127)
        assert "deleted" in res.json["message"]
    _, other = story.take(card, signed_by="ticket")
    other_code = story.code_of(other)
    other_user = query(client, code=other_code).json["openid"]
    story.sim(f"users/{other_user}/cards/{other_code}/consume")  # redeemed elsewhere
    res = redeem(client, code=other_code)
    story.assert_error(res, 409, errcode=40099)
    assert "card/code/consume" not in story.calls()


def test_a_failed_consume_releases_the_claim(story, app, client, redis_client):
    card = story.card()
    _, encrypted = story.take(card, signed_by="ticket")
    code = story.code_of(encrypted)
    story.fault("card/code/consume", http_status=500)
    failed = redeem(client, code=code, staff_id="a")
    assert failed.status_code == 502
    assert not redis_client.exists(keys.redeem_claim(code))
    ok = redeem(client, code=code, staff_id="b")
    assert ok.status_code == 200 and ok.json["staff_id"] == "b"
    assert story.calls("card/code/consume") == 2


def test_a_lost_consume_answer_is_settled_when_wechat_says_consumed(
        story, app, client, redis_client):
    card = story.card()
    user, encrypted = story.take(card, signed_by="ticket")
    code = story.code_of(encrypted)
    entry = {"card_id": card, "code": code, "openid": user["oa_openid"], "redeemed_at": 1,
             "staff_id": "a", "location": "x", "channel": "counter",
             "key": ledger.key_digest("counter", "", "sale-1")}
    redis_client.hset(keys.redeem_inflight(code), "lost-owner", json.dumps(entry))
    story.sim(f"users/{user['oa_openid']}/cards/{code}/consume")  # it did go through
    res = redeem(client, code=code, staff_id="b", headers={"Idempotency-Key": "sale-1"})
    assert res.status_code == 200 and res.json["staff_id"] == "a"
    assert json.loads(redis_client.hget(keys.redeem_ledger(code), card)) == entry
    assert not redis_client.exists(keys.redeem_inflight(code))
    assert "card/code/consume" not in story.calls()


def test_a_consume_refused_as_consumed_elsewhere_is_a_409_and_leaves_no_marker(
        story, app, client, redis_client):
    card = story.card()
    _, encrypted = story.take(card, signed_by="ticket")
    code = story.code_of(encrypted)
    story.fault("card/code/consume", errcode=40099)  # consumed by someone else just now
    res = redeem(client, code=code, staff_id="a")
    assert res.status_code == 409
    assert not redis_client.exists(keys.redeem_inflight(code))
