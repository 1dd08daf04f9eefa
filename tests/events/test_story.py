"""The simulated story, pushed by the sandbox (signed, safe mode): holdings, links, stats."""

from __future__ import annotations

from bff.domain import holdings
from bff.domain.identity import find_identity, link_openids
from bff.domain.ownership import channel_of
from bff.edges.events import process_pending
from bff.ground.store import keys
from tests.events.helpers import card_event, push
from tests.story import ADMIN


def test_the_story(story, app, client, redis_client):
    alice, bob, carol = story.user(), story.user(), story.user(unionid=False)
    card = story.card()
    a1 = story.take_and_open(card, alice, outer_str="shop-a")
    a2 = story.take_and_open(card, alice, outer_str="shop-a")
    b1 = story.take_and_open(card, bob, outer_str="poster")
    c1 = story.take_and_open(card, carol, outer_str="poster")
    pushes = client.get("/sandbox/_sim/pushes").json["pushes"]
    assert all(p["delivered"] for p in pushes), pushes

    # alice gives a2 to bob, deletes a1; bob uses b1
    gifted_code = story.sim(f"users/{alice['oa_openid']}/cards/{a2}/gift",
                            {"to": bob["oa_openid"]})["code"]
    story.sim(f"users/{alice['oa_openid']}/cards/{a1}/delete")
    story.sim(f"users/{bob['oa_openid']}/cards/{b1}/consume")

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

    assert story.channel_stats(card) == {
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
    assert story.channel_stats(card)["shop-a"]["received"] == 2


def test_lazy_user_info_when_event_has_no_unionid(story, app, redis_client):
    dave = story.user()

    def got_card(code: str) -> None:
        assert story.sim("events", {
            "Event": "user_get_card", "FromUserName": dave["oa_openid"], "CardId": "pLAZY",
            "UserCardCode": code, "IsGiveByFriend": 0, "OuterStr": "x"})["delivered"]

    got_card("5001")
    assert story.calls("cgi-bin/user/info") == 0  # not on the acknowledgement path
    process_pending(app)
    assert story.calls("cgi-bin/user/info") == 1
    ident = find_identity(redis_client, oa_openid=dave["oa_openid"])
    assert ident.unionid == dave["unionid"] and ident.linked_by == "user_info"
    got_card("5002")  # known now: no second lookup
    process_pending(app)
    assert story.calls("cgi-bin/user/info") == 1


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
    from bff.domain.profiles import get_profile

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


def test_identity_lookup_wants_ids_that_all_belong_to_one_identity(story, client, redis_client):
    link_openids(redis_client, source="jscode2session", unionid="u1", mp_openid="m1",
                 oa_openid="o1")
    both = client.get("/v1/admin/identities", query_string={"unionid": "u1", "oa_openid": "o1"},
                      headers=ADMIN)
    assert both.status_code == 200 and both.json["miniprogram_openid"] == "m1"
    for q in ({}, {"unionid": "u1", "oa_openid": "o2"}, {"unionid": "nobody"}):
        res = client.get("/v1/admin/identities", query_string=q, headers=ADMIN)
        story.assert_error(res, 404)
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
