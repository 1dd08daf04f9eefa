"""Profiles, the code pool (never issued twice), choose-card and wx.config signatures."""

from __future__ import annotations

import hashlib
import json
import threading

from bff.domain import pool
from tests.story import ADMIN, bearer


def test_profile_defaults_update_and_admin_only(story, client):
    card_id = story.card()
    assert client.get(f"/v1/admin/cards/{card_id}/profile").status_code == 401
    res = client.get(f"/v1/admin/cards/{card_id}/profile", headers=ADMIN)
    assert res.status_code == 200
    assert res.json["code_mode"] == "none" and res.json["review_state"] == "unknown"
    got = story.put_profile(card_id, self_redeem=True,
                            membership_number={"mode": "sequence", "prefix": "M", "width": 8})
    assert got["self_redeem"] is True and got["membership_number"]["width"] == 8
    got = story.put_profile(card_id, code_mode="pool")
    assert got["self_redeem"] is True  # omitted fields keep their value
    bad = client.put(f"/v1/admin/cards/{card_id}/profile", json={"code_mode": "magic"},
                     headers=ADMIN)
    assert bad.status_code == 422


def test_pool_code_is_signed_in_and_accepted_by_the_sandbox(story, client):
    card_id = story.card(use_custom_code=True)
    story.put_profile(card_id, code_mode="pool")
    res = client.post(f"/v1/admin/cards/{card_id}/pool", json={"codes": ["P001", "P002", "P001"]},
                      headers=ADMIN)
    assert res.json == {"added": 2, "duplicates": 1, "available": 2}
    user = story.user()
    token = story.login(user)
    card_list = story.sign(token, {"card_id": card_id}).json["card_list"]
    code = json.loads(card_list[0]["cardExt"])["code"]
    assert code in ("P001", "P002")
    [got] = story.add_card(user, card_list)["card_list"]
    assert got["isSuccess"] is True
    res = client.post("/v1/cards/codes/decrypt", json={"encrypt_code": got["code"]},
                      headers=bearer(token))
    assert res.json["code"] == code
    other_user = story.user()
    other = story.sign(story.login(other_user), {"card_id": card_id})  # the other code
    assert json.loads(other.json["card_list"][0]["cardExt"])["code"] != code
    third = story.sign(story.login(story.user()), {"card_id": card_id})
    story.assert_error(third, 409, message="no codes left in its pool")
    assert "Retry-After" not in third.headers  # a shown code never comes back to the pool


def test_one_open_reservation_per_user_and_card(story, client):
    """Three add-cards naming the card ten times each used to empty a pool of 30 codes."""
    card_id = story.card(use_custom_code=True)
    story.put_profile(card_id, code_mode="pool")
    client.post(f"/v1/admin/cards/{card_id}/pool", headers=ADMIN,
                json={"codes": [f"Q{i:03d}" for i in range(30)]})
    token = story.login(story.user())
    seen = set()
    for _ in range(3):
        res = story.sign(token, *[{"card_id": card_id}] * 10)
        assert res.status_code == 200, res.json
        seen |= {json.loads(item["cardExt"])["code"] for item in res.json["card_list"]}
    assert len(seen) == 1  # one reservation, reused by every repeat
    assert client.post(f"/v1/admin/cards/{card_id}/pool", headers=ADMIN,
                       json={"codes": ["Q000"]}).json["available"] == 29


def test_pool_code_never_issued_twice_under_concurrency(redis_client):
    codes = [f"C{i:04d}" for i in range(50)]
    assert pool.load_pool(redis_client, "cardX", codes) == 50
    got: list[str | None] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        for _ in range(10):
            code = pool.reserve_pool_code(redis_client, "cardX", f"user{n}-{_}").code
            with lock:
                got.append(code)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    issued = [c for c in got if c]
    assert len(issued) == 50 and len(set(issued)) == 50
    assert got.count(None) == 30


def test_a_shown_code_is_never_given_to_another_user(redis_client):
    """A code shown in u2's cardExt used to go back to the pool after 30 minutes and be issued
    to u3, while u2 could still present it at a counter."""
    pool.load_pool(redis_client, "cardY", ["A", "B", "C"])
    t0 = 1_000_000.0

    def reserve(holder: str, at: float) -> pool.Reservation:
        return pool.reserve_pool_code(redis_client, "cardY", holder, ttl=60, now=at)

    first, second = reserve("u1", t0).code, reserve("u2", t0).code
    assert reserve("u1", t0 + 1).code == first  # the same holder keeps its one reservation
    assert pool.mark_pool_code_received(redis_client, "cardY", first) is True
    assert pool.mark_pool_code_received(redis_client, "cardY", "not-a-pool-code") is False
    # u2's reservation lapses unreceived: its code is retired, never issued to u3 or u4
    third = reserve("u3", t0 + 61).code
    assert third not in (first, second, None)
    assert reserve("u4", t0 + 999).code is None
    assert pool.pool_available(redis_client, "cardY") == 0
    assert reserve("u2", t0 + 999).code is None  # u2 too gets a new code, not its lapsed one
    assert pool.pool_holder(redis_client, "cardY", second) == "u2"  # who saw it
    # u2 still takes the card with the cardExt it saw: the code is kept for good
    assert pool.mark_pool_code_received(redis_client, "cardY", second) is True
    assert redis_client.smembers(pool.keys.pool("cardY", "claimed")) == {first, second}
    assert redis_client.smembers(pool.keys.pool("cardY", "retired")) == {third}  # u3's lapsed


def test_choose_card_sign_matches_an_independent_computation(story, client):
    token = story.login(story.user())
    res = client.post("/v1/cards/choose-card", json={"card_type": "GROUPON", "shop_id": "123"},
                      headers=bearer(token))
    assert res.status_code == 200
    body = res.json
    ticket = client.get("/sandbox/_sim/tickets").json["wx_card"]
    appid = client.application.extensions["bff"].settings.appid
    values = sorted([ticket, appid, "123", body["timestamp"], body["nonceStr"], "", "GROUPON"])
    assert body["cardSign"] == hashlib.sha1("".join(values).encode()).hexdigest()
    assert body["signType"] == "SHA1" and body["cardId"] == ""
    assert client.post("/v1/cards/choose-card", json={"card_type": "x y"},
                       headers=bearer(token)).status_code == 422


def test_jssdk_config_signs_allowed_pages_without_fragment(story, client):
    token = story.login(story.user())
    url = "http://localhost:8080/page?a=1&b=2"
    res = client.post("/v1/jssdk/config", json={"url": url + "#frag"}, headers=bearer(token))
    assert res.status_code == 200
    body = res.json
    ticket = client.get("/sandbox/_sim/tickets").json["jsapi"]
    plain = (f"jsapi_ticket={ticket}&noncestr={body['nonceStr']}"
             f"&timestamp={body['timestamp']}&url={url}")
    assert body["signature"] == hashlib.sha1(plain.encode()).hexdigest()
    assert body["appId"] == client.application.extensions["bff"].settings.appid


def test_jssdk_config_refuses_other_hosts_and_schemes(story, client):
    token = story.login(story.user())
    for url, status in (("https://evil.example/page", 403), ("ftp://localhost/x", 422),
                        ("/relative/page", 422), ("javascript:alert(1)", 422)):
        res = client.post("/v1/jssdk/config", json={"url": url}, headers=bearer(token))
        assert res.status_code == status, url
    assert client.post("/v1/jssdk/config", json={}, headers=bearer(token)).status_code == 422
    assert client.post("/v1/jssdk/config", json={"url": "http://localhost/"}).status_code == 401
