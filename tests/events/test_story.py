"""The simulated story, pushed by the sandbox (signed, safe mode): holdings, links, stats."""

from __future__ import annotations

from bff import holdings
from bff.events import process_pending
from bff.identity import find_identity, link_openids
from bff.ownership import channel_of
from bff.store import keys
from tests.events.helpers import ADMIN, card_event, push
from tests.sessions.helpers import login, new_user, sign, sim_add_card, sim_card


def take(client, user: dict, card_id: str, outer_str: str, **extra) -> str:
    """The user takes ``card_id`` through the BFF's add-card signing and WeChat (the sandbox)."""
    token = login(client, user)
    res = sign(client, token, {"card_id": card_id, "outer_str": outer_str})
    assert res.status_code == 200, res.json
    [answer] = sim_add_card(client, user, res.json["card_list"], **extra)
    assert answer["isSuccess"], answer
    res = client.post("/v1/cards/codes/decrypt", json={"encrypt_code": answer["code"]},
                      headers={"Authorization": f"Bearer {token}"})
    assert res.status_code == 200, res.json
    return res.json["code"]


def stats(client, card_id: str) -> dict:
    res = client.get("/v1/admin/stats/channels", query_string={"card_id": card_id},
                     headers=ADMIN)
    assert res.status_code == 200, res.json
    return {r["outer_str"]: {k: r[k] for k in ("received", "consumed", "deleted", "gifted")}
            for r in res.json["rows"]}


def test_the_story(app, client, redis_client):
    alice, bob, carol = new_user(client), new_user(client), new_user(client, unionid=False)
    card = sim_card(client)
    a1 = take(client, alice, card, "shop-a")
    a2 = take(client, alice, card, "shop-a")
    b1 = take(client, bob, card, "poster")
    c1 = take(client, carol, card, "poster")
    pushes = client.get("/sandbox/_sim/pushes").json["pushes"]
    assert all(p["delivered"] for p in pushes), pushes

    # alice gives a2 to bob, deletes a1; bob uses b1
    res = client.post(f"/sandbox/_sim/users/{alice['oa_openid']}/cards/{a2}/gift",
                      json={"to": bob["oa_openid"]})
    assert res.status_code == 200, res.json
    gifted_code = res.json["code"]
    assert client.post(f"/sandbox/_sim/users/{alice['oa_openid']}/cards/{a1}/delete",
                       json={}).status_code == 200
    assert client.post(f"/sandbox/_sim/users/{bob['oa_openid']}/cards/{b1}/consume",
                       json={}).status_code == 200

    counts = process_pending(app)
    assert counts.get("done") == 8 and not counts.get("dead"), counts
    r = redis_client
    assert holdings.get_holding(r, a1).status == "DELETE"
    assert holdings.get_holding(r, a2).status == "GIFTED"
    got = holdings.get_holding(r, gifted_code)
    assert (got.oa_openid, got.gift_from, got.old_code, channel_of(got.outer_str), got.status,
            got.receipt) == (bob["oa_openid"], alice["oa_openid"], a2, "shop-a", "NORMAL", "gift")
    assert holdings.get_holding(r, b1).status == "CONSUMED"
    assert holdings.get_holding(r, c1).oa_openid == carol["oa_openid"]

    assert stats(client, card) == {
        "shop-a": {"received": 2, "consumed": 0, "deleted": 1, "gifted": 1},
        "poster": {"received": 2, "consumed": 1, "deleted": 0, "gifted": 0},
    }
    # links: from the event's UnionId, and from the Mini Program login
    ident = client.get("/v1/admin/identities", query_string={"oa_openid": alice["oa_openid"]},
                       headers=ADMIN).json
    assert ident["unionid"] == alice["unionid"]
    assert ident["miniprogram_openid"] == alice["mp_openid"]
    # no unionid: the lookup is cached, and nothing is invented
    assert find_identity(r, oa_openid=carol["oa_openid"]) is None or not find_identity(
        r, oa_openid=carol["oa_openid"]).unionid

    # a second drain changes nothing
    assert process_pending(app) == {}
    assert stats(client, card)["shop-a"]["received"] == 2


def test_lazy_user_info_when_event_has_no_unionid(app, client, redis_client):
    dave = new_user(client)

    def got_card(code: str) -> None:
        res = client.post("/sandbox/_sim/events", json={
            "Event": "user_get_card", "FromUserName": dave["oa_openid"], "CardId": "pLAZY",
            "UserCardCode": code, "IsGiveByFriend": 0, "OuterStr": "x"})
        assert res.status_code == 200 and res.json["delivered"], res.json

    def user_info_calls() -> int:
        return client.get("/sandbox/_sim/calls").json.get("cgi-bin/user/info", 0)

    got_card("5001")
    assert user_info_calls() == 0  # not on the acknowledgement path
    process_pending(app)
    assert user_info_calls() == 1
    ident = find_identity(redis_client, oa_openid=dave["oa_openid"])
    assert ident.unionid == dave["unionid"] and ident.linked_by == "user_info"
    got_card("5002")  # known now: no second lookup
    process_pending(app)
    assert user_info_calls() == 1


def test_events_feed_in_order_with_cursor(app, client):
    for i in range(5):
        push(client, card_event("user_view_card", "o1", code=str(i)))
    page = client.get("/v1/admin/events", query_string={"limit": 3}, headers=ADMIN).json
    assert [e["code"] for e in page["events"]] == ["0", "1", "2"]
    assert page["events"][0]["event"] == "user_view_card"
    assert page["events"][0]["openid"] == "o1" and page["events"][0]["create_time"]
    rest = client.get("/v1/admin/events", query_string={"after": page["next"]},
                      headers=ADMIN).json
    assert [e["code"] for e in rest["events"]] == ["3", "4"]
    empty = client.get("/v1/admin/events", query_string={"after": rest["next"]},
                       headers=ADMIN).json
    assert empty == {"events": [], "next": rest["next"]}
    assert client.get("/v1/admin/events").status_code == 401
    assert client.get("/v1/admin/events", query_string={"after": "x"},
                      headers=ADMIN).status_code == 422


def test_review_unknown_and_other_events(app, client, redis_client):
    from bff.profiles import get_profile

    push(client, card_event("card_pass_check", "gh", card_id="pOK"))
    push(client, card_event("card_not_pass_check", "gh", card_id="pNO", RefuseReason="blurry"))
    push(client, card_event("user_enter_session_from_card", "o1", code="9"))
    push(client, card_event("some_future_event", "o1", code="9", Whatever="1"))
    assert process_pending(app) == {"done": 4}
    assert get_profile(redis_client, "pOK", fresh=True).review_state == "approved"
    rejected = get_profile(redis_client, "pNO", fresh=True)
    assert (rejected.review_state, rejected.review_reason) == ("rejected", "blurry")
    events = client.get("/v1/admin/events", headers=ADMIN).json["events"]
    assert events[-1]["event"] == "some_future_event"
    assert events[-1]["fields"]["Whatever"] == "1"


def test_identity_lookup_wants_ids_that_all_belong_to_one_identity(client, redis_client):
    link_openids(redis_client, source="jscode2session", unionid="u1", mp_openid="m1",
                 oa_openid="o1")
    both = client.get("/v1/admin/identities", query_string={"unionid": "u1", "oa_openid": "o1"},
                      headers=ADMIN)
    assert both.status_code == 200 and both.json["miniprogram_openid"] == "m1"
    for q in ({}, {"unionid": "u1", "oa_openid": "o2"}, {"unionid": "nobody"}):
        res = client.get("/v1/admin/identities", query_string=q, headers=ADMIN)
        assert res.status_code == 404 and res.json["code"] == 404
    res = client.get("/v1/admin/identities", query_string={"unionid": "a b"}, headers=ADMIN)
    assert res.status_code == 422


def test_stats_dates(client):
    q = {"from": "2024-02-01", "to": "2024-01-01"}  # an empty range
    assert client.get("/v1/admin/stats/channels", query_string=q,
                      headers=ADMIN).json == {"rows": [], "next_from": None}
    q = {"from": "2020-01-01", "to": "2024-01-01"}  # 366 days, then where the rest starts
    res = client.get("/v1/admin/stats/channels", query_string=q, headers=ADMIN)
    assert res.status_code == 200 and res.json["next_from"] == "2021-01-01"
    for q in ({"from": "2024-13-01"}, {"to": "0000-00-00"}, {"from": "2024-01-01\n"}):
        assert client.get("/v1/admin/stats/channels", query_string=q,
                          headers=ADMIN).status_code == 422
    q = {"to": "0001-01-02"}  # the default start does not fall off the calendar
    assert client.get("/v1/admin/stats/channels", query_string=q, headers=ADMIN).status_code == 200
    assert client.get("/v1/admin/stats/channels", headers=ADMIN).json == {
        "rows": [], "next_from": None}


def test_create_time_day_is_shanghai(app, client, redis_client):
    # 2024-03-01 16:30 UTC is 2024-03-02 00:30 in Shanghai
    push(client, card_event("user_get_card", "o1", card_id="pDAY", code="77",
                            create_time=1709310600, OuterStr="late"))
    process_pending(app)
    assert redis_client.hgetall(keys.channel_stats("pDAY", "2024-03-02")) == {
        "received|late": "1"}
