"""Bonus and balance changes exactly once, serialised per member, with a ledger reconciled with
WeChat's update_member_card pushes."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from bff.domain.members import changes
from bff.edges.events import process_pending
from bff.ground.wechat.api import WeChatApi
from bff.ground.wechat.errors import WeChatUnavailable
from tests.story import ADMIN, bearer

UPDATE = "card/membercard/updateuser"


def change(client, member: dict, key: str | None, **body: Any):
    headers = {**ADMIN, **({"Idempotency-Key": key} if key else {})}
    return client.post(f"/v1/admin/members/{member['card_id']}/{member['code']}/changes",
                       json=body, headers=headers)


def ledger(client, member: dict) -> list[dict]:
    res = client.get(f"/v1/admin/members/{member['card_id']}/{member['code']}/changes",
                     headers=ADMIN)
    assert res.status_code == 200, res.get_json()
    return res.get_json()["changes"]



def sandbox_state(app, member: dict) -> dict:
    with app.app_context():
        return app.extensions["bff"].wechat.membercard_userinfo_get(member["card_id"],
                                                                   member["code"])


def test_the_same_key_twice_is_one_change_and_the_member_sees_it(app, story, client, member):
    first = change(client, member, "pos-1-sale-9", add_bonus=10, record_bonus="coffee",
                   by="clerk-7")
    assert first.status_code == 201, first.get_json()
    assert first.get_json()["result_bonus"] == 10 and first.get_json()["result_balance"] == 0
    again = change(client, member, "pos-1-sale-9", add_bonus=10, record_bonus="coffee",
                   by="clerk-7")
    assert again.status_code == 200 and again.get_json() == first.get_json()
    assert story.calls(UPDATE) == 1
    info = client.get(f"/v1/membership/cards/{member['card_id']}", headers=bearer(member["token"]))
    assert info.status_code == 200 and info.get_json()["bonus"] == 10
    assert sandbox_state(app, member)["bonus"] == 10
    [entry] = ledger(client, member)
    assert entry["change_id"] == first.get_json()["change_id"]
    assert (entry["key"], entry["by"], entry["source"], entry["state"]) == (
        "pos-1-sale-9", "clerk-7", "api", "done")
    assert (entry["add_bonus"], entry["before_bonus"], entry["result_bonus"]) == (10, 0, 10)
    assert entry["record_bonus"] == "coffee" and entry["event_id"] is None
    # WeChat's update_member_card push is matched to this change, not recorded as another.
    assert process_pending(app).get("done") == 1
    [entry] = ledger(client, member)
    assert entry["event_id"] and entry["source"] == "api"


def test_concurrent_retries_under_one_key_make_one_upstream_call(app, story, member):
    answers: list = []
    start = threading.Barrier(10)

    def post() -> None:
        c = app.test_client()
        start.wait()
        res = change(c, member, "batch-42", add_balance=500, record_balance="top-up")
        answers.append((res.status_code, res.get_json()))

    threads = [threading.Thread(target=post) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(s for s, _ in answers) == [200] * 9 + [201], answers
    assert len({a["change_id"] for _, a in answers}) == 1
    assert {a["result_balance"] for _, a in answers} == {500}
    assert story.calls(UPDATE) == 1
    assert sandbox_state(app, member)["balance"] == 500


def test_concurrent_changes_to_one_member_are_serialised(app, story, client, member):
    start = threading.Barrier(6)
    answers: list = []

    def post(i: int) -> None:
        c = app.test_client()
        start.wait()
        res = change(c, member, f"k-{i}", add_bonus=5)
        answers.append(res.get_json())

    threads = [threading.Thread(target=post, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(a["result_bonus"] for a in answers) == [5, 10, 15, 20, 25, 30]
    entries = ledger(client, member)
    assert [(e["before_bonus"], e["result_bonus"]) for e in entries] == [
        (0, 5), (5, 10), (10, 15), (15, 20), (20, 25), (25, 30)]
    assert sandbox_state(app, member)["bonus"] == 30
    process_pending(app)
    assert len(ledger(client, member)) == 6  # each push matched its own change


def test_a_key_is_bound_to_its_member_and_body(app, story, client, member):
    assert change(client, member, "k1", add_bonus=1).status_code == 201
    other_body = change(client, member, "k1", add_bonus=2)
    story.assert_error(other_body, 422, message="another change")
    other = story.new_member()
    assert story.activate(other["token"], other["returned"]).status_code == 200
    other_member = {**other, "code": other["returned"]["code"]}
    assert change(client, other_member, "k1", add_bonus=1).status_code == 422
    assert story.calls(UPDATE) == 1


def test_bad_requests_are_refused_before_wechat(story, client, member):
    assert change(client, member, None, add_bonus=1).status_code == 422
    assert change(client, member, "x" * 65, add_bonus=1).status_code == 422
    assert change(client, member, "k", by="me").status_code == 422  # nothing to change
    assert change(client, member, "k", add_bonus="1").status_code == 422
    assert change(client, member, "k", custom_field_values={"1": "一二三四五"}).status_code == 422
    assert change(client, member, "k", custom_field_values={"4": "x"}).status_code == 422
    assert change(client, member, "k", background_pic_url="ftp://x").status_code == 422
    res = client.post(f"/v1/admin/members/{member['card_id']}/{member['code']}/changes",
                      json={"add_bonus": 1}, headers={"Idempotency-Key": "k"})
    assert res.status_code == 401
    assert story.calls(UPDATE) == 0


def test_wechat_refusals_leave_no_change_and_free_the_key(app, story, client, member):
    below_zero = change(client, member, "spend-1", add_balance=-100)
    story.assert_error(below_zero, 422, errcode=47001)
    unknown = change(client, {**member, "code": "999999999999"}, "spend-2", add_bonus=1)
    assert unknown.status_code == 404
    assert ledger(client, member) == []
    # The refused key can be used again, for a change WeChat accepts.
    assert change(client, member, "spend-1", add_balance=100).status_code == 201


def test_custom_fields_background_and_notify_reach_wechat(app, client, member, redis_client):
    res = change(client, member, "look-1", bonus=300, add_bonus=50,
                 custom_field_values={"1": "Gold", "3": "VIP"},
                 background_pic_url="https://example.com/bg.png",
                 notify={"bonus": False})
    assert res.status_code == 201 and res.get_json()["result_bonus"] == 300
    record = redis_client.hgetall(f"{{wxsandbox}}:code:{member['card_id']}:{member['code']}")
    assert record["init_custom_field_value1"] == "Gold"
    assert record["init_custom_field_value3"] == "VIP"
    assert record["background_pic_url"] == "https://example.com/bg.png"


def test_a_change_made_outside_the_service_is_recorded_from_its_push(app, client, member):
    assert change(client, member, "k1", add_bonus=10).status_code == 201
    with app.app_context():  # the merchant's other system calls WeChat itself
        app.extensions["bff"].wechat.membercard_updateuser(
            {"card_id": member["card_id"], "code": member["code"], "add_bonus": -4,
             "add_balance": 250})
    assert process_pending(app).get("done") == 2
    api, outside = ledger(client, member)
    assert api["source"] == "api" and api["event_id"]
    assert outside["source"] == "wechat" and outside["by"] == "wechat" and outside["key"] is None
    assert (outside["add_bonus"], outside["before_bonus"], outside["result_bonus"]) == (-4, 10, 6)
    assert (outside["add_balance"], outside["before_balance"], outside["result_balance"]) == (
        250, 0, 250)
    assert process_pending(app) == {}
    assert len(ledger(client, member)) == 2


def test_a_lost_answer_is_settled_by_the_push_and_the_retry_gets_it(
        app, story, client, member, monkeypatch):
    original = WeChatApi.membercard_updateuser

    def lost(self: WeChatApi, body: dict) -> dict:
        original(self, body)  # WeChat made the change...
        raise WeChatUnavailable("timeout", "/card/membercard/updateuser")  # ...the answer is lost

    monkeypatch.setattr(WeChatApi, "membercard_updateuser", lost)
    first = change(client, member, "till-3", add_bonus=7)
    assert first.status_code == 504
    monkeypatch.setattr(WeChatApi, "membercard_updateuser", original)
    waiting = change(client, member, "till-3", add_bonus=7)
    assert waiting.status_code == 503 and waiting.headers["Retry-After"]
    [entry] = ledger(client, member)
    assert entry["state"] == "uncertain"
    process_pending(app)  # WeChat's push arrives: the change was made
    settled = change(client, member, "till-3", add_bonus=7)
    assert settled.status_code == 200, settled.get_json()
    assert settled.get_json()["result_bonus"] == 7
    assert story.calls(UPDATE) == 1
    [entry] = ledger(client, member)
    assert entry["state"] == "done" and entry["result_bonus"] == 7


def test_an_unconfirmed_lost_change_is_made_again_after_the_window(
        app, story, client, member, monkeypatch):
    def never_sent_but_unsure(self: WeChatApi, body: dict) -> dict:
        raise WeChatUnavailable("timeout", "/card/membercard/updateuser")

    original = WeChatApi.membercard_updateuser
    monkeypatch.setattr(WeChatApi, "membercard_updateuser", never_sent_but_unsure)
    assert change(client, member, "till-4", add_bonus=3).status_code == 504
    monkeypatch.setattr(WeChatApi, "membercard_updateuser", original)
    monkeypatch.setattr(changes, "UNCERTAIN_SECONDS", 0)
    again = change(client, member, "till-4", add_bonus=3)
    assert again.status_code == 201 and again.get_json()["result_bonus"] == 3  # made now
    [entry] = ledger(client, member)
    assert entry["state"] == "done"


def test_find_members_by_code_number_or_openid(client, member):
    by_code = client.get("/v1/admin/members", query_string={"code": member["code"]},
                         headers=ADMIN)
    assert by_code.status_code == 200, by_code.get_json()
    [found] = by_code.get_json()["members"]
    assert found["card_id"] == member["card_id"] and found["oa_openid"] == (
        member["user"]["oa_openid"])
    assert "fields" not in found
    for query in ({"membership_number": found["membership_number"]},
                  {"oa_openid": member["user"]["oa_openid"]}):
        res = client.get("/v1/admin/members", query_string=query, headers=ADMIN)
        assert res.get_json()["members"] == [found], query
    assert client.get("/v1/admin/members", query_string={"code": "nope"},
                      headers=ADMIN).get_json() == {"members": []}
    every = {"code": member["code"], "membership_number": found["membership_number"],
             "oa_openid": member["user"]["oa_openid"]}
    assert client.get("/v1/admin/members", query_string=every,
                      headers=ADMIN).get_json()["members"] == [found]
    for query in ({"code": member["code"], "oa_openid": "x"},
                  {"code": "nope", "membership_number": found["membership_number"]}):
        assert client.get("/v1/admin/members", query_string=query,
                          headers=ADMIN).get_json() == {"members": []}, query
    assert client.get("/v1/admin/members", headers=ADMIN).status_code == 404


def test_cli_change_changes_and_find(app, runner, story, member):
    args = ["members", "change", member["card_id"], member["code"], "--key", "cli-1",
            "--add-bonus", "10", "--record", "welcome gift"]
    first = runner.invoke(args=args)
    assert first.exit_code == 0, first.output
    again = runner.invoke(args=args)
    assert again.exit_code == 0, again.output
    assert json.loads(again.output) == {**json.loads(first.output), "replayed": True}
    assert json.loads(first.output)["result_bonus"] == 10
    assert story.calls(UPDATE) == 1
    listed = runner.invoke(args=["members", "changes", member["card_id"], member["code"]])
    assert listed.exit_code == 0 and "welcome gift" in listed.output and "cli-1" in listed.output
    found = runner.invoke(args=["members", "find", "--code", member["code"]])
    assert found.exit_code == 0 and member["card_id"] in found.output
    bad = runner.invoke(args=["members", "change", member["card_id"], member["code"], "--key",
                              "cli-2"])
    assert bad.exit_code != 0 and "at least one" in bad.output


def test_an_outside_change_handled_late_does_not_count_later_changes(app, client, member):
    with app.app_context():
        app.extensions["bff"].wechat.membercard_updateuser(
            {"card_id": member["card_id"], "code": member["code"], "add_bonus": 5})
    app.extensions["bff"].clock = lambda: time.time() + 5  # the service's change, 5 s later
    # The push is handled only after the service's own change (a slow worker).
    res = change(client, member, "later", add_bonus=10)
    assert res.status_code == 201 and res.get_json()["result_bonus"] == 15
    process_pending(app)
    later, outside = ledger(client, member)
    assert (later["before_bonus"], later["result_bonus"]) == (5, 15)
    assert outside["source"] == "wechat"
    assert (outside["add_bonus"], outside["result_bonus"]) == (5, None)  # not 25
