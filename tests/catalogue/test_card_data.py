"""WeChat's card data (datacube) by day: pieces of 62 days, days WeChat has not computed, CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io

from bff.domain.card_data import pieces, wechat_card_rows
from bff.domain.channel_stats import today as shanghai_today
from tests.catalogue.samples import coupon, member_card_for_mini_program
from tests.story import ADMIN, bearer

DAY = 86400


def test_pieces_of_at_most_62_days():
    start = dt.date(2026, 1, 1)
    cut = pieces(start, start + dt.timedelta(days=129))
    assert [(b - a).days + 1 for a, b in cut] == [62, 62, 6]
    assert cut[1][0] == cut[0][1] + dt.timedelta(days=1)
    assert pieces(start, start) == [(start, start)]


def test_a_long_range_is_asked_for_in_pieces_and_recent_days_are_marked(client, story):
    end = shanghai_today()
    start = end - dt.timedelta(days=99)
    answer = client.get("/v1/admin/stats/wechat", headers=ADMIN, query_string={
        "kind": "summary", "from": start.isoformat(), "to": end.isoformat()})
    assert answer.status_code == 200, answer.get_json()
    rows = answer.get_json()["rows"]
    assert [r["ref_date"] for r in rows] == [
        (start + dt.timedelta(days=i)).isoformat() for i in range(100)]
    assert story.calls("datacube/getcardbizuininfo") == 2  # 99 days WeChat has: 62 + 37
    assert rows[-1] == {"ref_date": end.isoformat(), "computed": False}
    assert all(r["computed"] and r["receive_cnt"] == 0 for r in rows[:-1])


def test_counts_follow_what_users_did(client, story, app):
    coupon_id = story.create_card(coupon("CASH"))
    member_id = story.create_card(member_card_for_mini_program())
    for card_id in (coupon_id, member_id):
        story.review(card_id)
    users = [story.user() for _ in range(2)]
    for user in users:
        signed = client.post("/v1/cards/add-card", headers=bearer(story.login(user)),
                             json={"cards": [{"card_id": coupon_id}, {"card_id": coupon_id}]})
        story.sim("add-card", {"user": user["mp_openid"],
                               "card_list": signed.get_json()["card_list"]})
    member_user = story.user()
    token = story.login(member_user)
    extra = story.plugin(token, member_id).get_json()["extraData"]
    returned = story.fill_form(member_user, extra)
    assert story.activate(token, returned).status_code == 200

    # WeChat has today's numbers tomorrow: move the sandbox a day on and ask for "today".
    story.sim("clock", {"advance_seconds": DAY})
    today = shanghai_today()
    with app.app_context():
        wechat = app.extensions["bff"].wechat
        summary = wechat_card_rows(wechat, "summary", today, today,
                                   today=today + dt.timedelta(days=1))
        per_card = wechat_card_rows(wechat, "card", today, today, card_id=coupon_id,
                                    today=today + dt.timedelta(days=1))
        members = wechat_card_rows(wechat, "member", today, today,
                                   today=today + dt.timedelta(days=1))
    assert summary[0]["receive_cnt"] == 5 and summary[0]["receive_user"] == 3
    assert per_card == [{**per_card[0], "card_id": coupon_id, "receive_cnt": 4,
                         "receive_user": 2, "computed": True}]
    assert per_card[0]["card_type"] == 1  # 1: cash
    assert members[0]["active_user"] == 1 and members[0]["receive_cnt"] == 1


def test_yesterday_wechat_has_not_computed_is_marked_not_zeroed(story, app):
    # The service's day has turned, WeChat's has not: WeChat refuses a range ending
    # "yesterday" (61501); the service asks again without it and marks it not computed.
    ahead = shanghai_today() + dt.timedelta(days=1)
    start = ahead - dt.timedelta(days=3)
    with app.app_context():
        rows = wechat_card_rows(app.extensions["bff"].wechat, "summary", start, ahead,
                                today=ahead)
    assert [(r["ref_date"], r["computed"]) for r in rows] == [
        ((start + dt.timedelta(days=i)).isoformat(), i < 2) for i in range(4)]
    assert story.calls("datacube/getcardbizuininfo") == 2


def test_bad_dates_and_card_id_with_the_wrong_kind(client, story):
    for query in ({"kind": "summary", "from": "2026-02-30"},
                  {"kind": "summary", "to": "2026-1-1"},
                  {"kind": "weekly"},
                  {"kind": "member", "card_id": "pABC"}):
        answer = client.get("/v1/admin/stats/wechat", headers=ADMIN, query_string=query)
        assert answer.status_code == 422, query
    assert "datacube/getcardbizuininfo" not in story.calls()


def test_long_ranges_are_paged_and_reversed_ones_are_empty(client, story):
    def ask(**query):
        answer = client.get("/v1/admin/stats/wechat", headers=ADMIN,
                            query_string={"kind": "summary", **query})
        assert answer.status_code == 200, answer.get_json()
        return answer.get_json()

    first = ask(**{"from": "2020-01-01", "to": "2026-01-01"})
    assert first["next_from"] == "2021-01-01"  # 366 days: all of 2020, a leap year
    assert [r["ref_date"] for r in first["rows"]][-1:] == ["2020-12-31"]
    assert ask(**{"from": "2026-02-01", "to": "2026-01-01"}) == {"rows": [], "next_from": None}
    # days before WeChat's cards began are not asked for: they have no data
    calls = story.calls("datacube/getcardbizuininfo")
    assert ask(**{"from": "0001-01-01", "to": "0001-01-02"}) == {"rows": [], "next_from": None}
    assert story.calls("datacube/getcardbizuininfo") == calls


def test_csv_from_the_cli_next_to_the_channel_statistics(client, story, runner):
    card_id = story.create_card(coupon("GIFT"))
    story.review(card_id)
    user = story.user()
    signed = client.post("/v1/cards/add-card", headers=bearer(story.login(user)),
                         json={"cards": [{"card_id": card_id, "outer_str": "poster"}]})
    story.sim("add-card", {"user": user["mp_openid"], "card_list": signed.get_json()["card_list"]})
    story.handle_events()
    today = shanghai_today().isoformat()
    channels = runner.invoke(args=["stats", "channels", "--from", today, "--to", today])
    assert channels.exit_code == 0, channels.output
    rows = list(csv.DictReader(io.StringIO(channels.output)))
    assert rows == [{"date": today, "card_id": card_id, "outer_str": "poster", "received": "1",
                     "consumed": "0", "deleted": "0", "gifted": "0", "opened": "0"}]
    wechat = runner.invoke(args=["stats", "wechat", "--kind", "card", "--card-id", card_id,
                                 "--to", today])
    assert wechat.exit_code == 0, wechat.output
    rows = list(csv.DictReader(io.StringIO(wechat.output)))
    assert len(rows) == 7 and rows[-1]["computed"] == "False" and rows[-1]["card_id"] == card_id
    assert list(rows[0])[:3] == ["ref_date", "card_id", "card_type"]
    refused = runner.invoke(args=["stats", "wechat", "--kind", "summary", "--from", "nope"])
    assert refused.exit_code == 1 and "invalid input" in refused.output
