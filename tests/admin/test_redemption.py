"""Counter redemption: query first, consume once, every caller gets the first outcome."""

from __future__ import annotations

import json
import threading
from urllib.parse import quote

from bff.store import keys
from tests.admin.helpers import ADMIN, calls, decrypt, fault, new_card, sim, take


def query(client, **body):
    return client.post("/v1/admin/codes/query", json=body, headers=ADMIN)


def redeem(client, **body):
    return client.post("/v1/admin/codes/redeem", json=body, headers=ADMIN)


def test_query_by_code_and_by_encrypt_code_however_the_url_mangled_it(app, client):
    card = new_card(client)
    user, encrypted = take(app, client, card)
    code = decrypt(app, encrypted)
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


def test_ten_concurrent_redemptions_make_one_consume_and_the_same_answer(app, client):
    card = new_card(client)
    user, encrypted = take(app, client, card)
    code = decrypt(app, encrypted)
    barrier = threading.Barrier(10)
    answers: list = [None] * 10

    def one(i: int) -> None:
        c = app.test_client()
        barrier.wait()
        res = c.post("/v1/admin/codes/redeem", headers=ADMIN,
                     json={"card_id": card, "code": code, "staff_id": f"s{i}",
                           "location": "store 12"})
        answers[i] = (res.status_code, res.json)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    statuses = {a[0] for a in answers}
    assert statuses == {200}, answers
    first = answers[0][1]
    assert all(a[1] == first for a in answers)
    assert first["code"] == code and first["openid"] == user["oa_openid"]
    assert first["location"] == "store 12" and first["staff_id"] in {f"s{i}" for i in range(10)}
    assert calls(client)["card/code/consume"] == 1
    # Later: the same answer again (no consume), and the query explains who redeemed it.
    again = redeem(client, code=code, staff_id="late")
    assert again.status_code == 200 and again.json == first
    info = query(client, card_id=card, code=code)
    assert info.status_code == 409 and info.json["errcode"] == 40099
    assert "already been redeemed" in info.json["message"]
    assert f"by staff {first['staff_id']}" in info.json["message"]
    assert calls(client)["card/code/consume"] == 1


def test_redeem_with_encrypt_code(app, client):
    card = new_card(client)
    _, encrypted = take(app, client, card)
    res = redeem(client, encrypt_code=quote(encrypted, safe=""), staff_id="a", location="b")
    assert res.status_code == 200, res.json
    assert res.json["code"] == decrypt(app, encrypted)
    assert set(res.json) >= {"card_id", "code", "openid", "redeemed_at", "staff_id", "location"}


def test_unusable_codes_are_explained(app, client):
    card = new_card(client)
    user, encrypted = take(app, client, card)
    code = decrypt(app, encrypted)
    unknown = redeem(client, card_id=card, code="999999999999")
    assert unknown.status_code == 404 and unknown.json["errcode"] == 40056
    sim(client, f"users/{user['oa_openid']}/cards/{code}/delete")
    for call in (query, redeem):
        res = call(client, card_id=card, code=code)
        assert res.status_code == 409 and res.json["errcode"] == 40127
        assert "deleted" in res.json["message"]
    _, other = take(app, client, card)
    other_code = decrypt(app, other)
    other_user = query(client, code=other_code).json["openid"]
    sim(client, f"users/{other_user}/cards/{other_code}/consume")  # redeemed elsewhere
    res = redeem(client, code=other_code)
    assert res.status_code == 409 and res.json["errcode"] == 40099
    assert "card/code/consume" not in calls(client)


def test_a_failed_consume_releases_the_claim(app, client, redis_client):
    card = new_card(client)
    _, encrypted = take(app, client, card)
    code = decrypt(app, encrypted)
    fault(client, "card/code/consume", http_status=500)
    failed = redeem(client, code=code, staff_id="a")
    assert failed.status_code == 502
    assert not redis_client.exists(keys.redeem_claim(code))
    ok = redeem(client, code=code, staff_id="b")
    assert ok.status_code == 200 and ok.json["staff_id"] == "b"
    assert calls(client)["card/code/consume"] == 2


def test_a_lost_consume_answer_is_settled_when_wechat_says_consumed(app, client, redis_client):
    card = new_card(client)
    user, encrypted = take(app, client, card)
    code = decrypt(app, encrypted)
    entry = {"card_id": card, "code": code, "openid": user["oa_openid"], "redeemed_at": 1,
             "staff_id": "a", "location": "x", "channel": "counter"}
    redis_client.set(keys.redeem_uncertain(code), json.dumps(entry))
    sim(client, f"users/{user['oa_openid']}/cards/{code}/consume")  # it did go through
    res = redeem(client, code=code, staff_id="b")
    assert res.status_code == 200 and res.json["staff_id"] == "a"
    assert json.loads(redis_client.hget(keys.redeem_ledger(code), card)) == entry


def test_a_lost_consume_that_lands_after_the_retry_queried_is_that_redemption(
        app, client, redis_client):
    """Found by bench/soak.py: a consume timed out (it was still on its way); the retry's query
    says "can consume", then its own consume is refused with 40099 because the first one
    landed in between. The answer is the first redemption, not a 409."""
    card = new_card(client)
    user, encrypted = take(app, client, card)
    code = decrypt(app, encrypted)
    entry = {"card_id": card, "code": code, "openid": user["oa_openid"], "redeemed_at": 1,
             "staff_id": "a", "location": "x", "channel": "counter"}
    redis_client.set(keys.redeem_uncertain(code), json.dumps(entry))
    fault(client, "card/code/consume", errcode=40099)  # the first consume landed just now
    res = redeem(client, code=code, staff_id="b")
    assert res.status_code == 200, res.json
    assert res.json["staff_id"] == "a"
    assert json.loads(redis_client.hget(keys.redeem_ledger(code), card)) == entry
    again = redeem(client, code=code, staff_id="c")
    assert again.status_code == 200 and again.json == res.json


def test_redis_failing_after_the_consume_still_gives_that_redemption(
        app, client, redis_client, monkeypatch):
    """Found by bench/soak.py (a master killed): WeChat consumed, then writing the ledger
    failed (503); the retry heard "consumed" and answered 409. Now it gets the redemption."""
    import redis as redislib

    from bff.admin import ledger

    card = new_card(client)
    _, encrypted = take(app, client, card)
    code = decrypt(app, encrypted)
    real = ledger._write

    def storage_fails_once(r, entry):
        monkeypatch.setattr(ledger, "_write", real)
        raise redislib.ConnectionError("the master went away")

    monkeypatch.setattr(ledger, "_write", storage_fails_once)
    failed = redeem(client, code=code, staff_id="a")
    assert failed.status_code == 503 and failed.headers["Retry-After"]
    res = redeem(client, code=code, staff_id="b")
    assert res.status_code == 200, res.json
    assert res.json["staff_id"] == "a"
    assert calls(client)["card/code/consume"] == 1
    assert not redis_client.exists(keys.redeem_uncertain(code))


def test_a_consume_refused_as_consumed_elsewhere_is_a_409_and_leaves_no_marker(
        app, client, redis_client):
    card = new_card(client)
    _, encrypted = take(app, client, card)
    code = decrypt(app, encrypted)
    fault(client, "card/code/consume", errcode=40099)  # consumed by someone else just now
    res = redeem(client, code=code, staff_id="a")
    assert res.status_code == 409
    assert not redis_client.exists(keys.redeem_uncertain(code))
