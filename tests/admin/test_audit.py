"""The audit log: every state-changing operator request and command, who, what, how it ended."""

from __future__ import annotations

import json
import time

from bff.domain import audit
from bff.ground.store import keys
from tests.story import ADMIN


def entries(client, **query) -> dict:
    res = client.get("/v1/admin/audit", query_string=query, headers=ADMIN)
    assert res.status_code == 200, res.json
    return res.json


def requests_(client) -> list[dict]:
    """The entries of HTTP requests (adding the operators is recorded too: as ``cli``)."""
    return [e for e in entries(client)["entries"] if e["via"] != "cli"]


def test_each_roles_changes_and_refusals_are_recorded_newest_first(story, client):
    staff = story.operator("till-3", "staff")
    marketing = story.operator("mia", "marketing")
    admin = story.operator("ada", "admin")
    card = story.card()
    code = story.code_of(story.take(card, signed_by="ticket")[1])
    redeemed = client.post("/v1/admin/codes/redeem?via=till", json={"code": code},
                           headers=staff)
    assert redeemed.status_code == 200
    changed = client.put("/v1/admin/test-whitelist", json={"openid": []}, headers=marketing)
    assert changed.status_code == 200
    refused = client.delete("/v1/admin/identities?oa_openid=o1", headers=marketing)
    assert refused.status_code == 403
    removed = client.delete("/v1/admin/identities?oa_openid=o1", headers=admin)
    assert client.get("/v1/admin/cards", headers=marketing).status_code == 200  # a read: none
    client.post("/v1/admin/codes/query", json={"code": code},
                headers={"Authorization": "Bearer nobody"})  # unauthenticated: none

    found = requests_(client)
    assert [(e["operator"], e["role"], e["method"], e["path"], e["status"]) for e in found] == [
        ("ada", "admin", "DELETE", "/v1/admin/identities", removed.status_code),
        ("mia", "marketing", "DELETE", "/v1/admin/identities", 403),
        ("mia", "marketing", "PUT", "/v1/admin/test-whitelist", 200),
        ("till-3", "staff", "POST", "/v1/admin/codes/redeem", 200),
    ]
    newest, *_, oldest = found
    assert newest["action"] == "events_admin.Identities" and newest["via"] == "bearer"
    assert oldest["action"] == "admin-codes.CodeRedeem"
    assert oldest["request_id"] == redeemed.headers["X-Request-Id"]
    assert all(isinstance(e["at"], float) and e["id"] for e in found)


def test_console_sign_in_and_out_and_csrf_refusals_are_recorded(story, client):
    csrf = story.sign_in(story.operator("mia", "marketing")["Authorization"][7:])["csrf_token"]
    assert client.put("/v1/admin/test-whitelist", json={"openid": []}).status_code == 403
    assert client.delete("/v1/admin/session", headers={"X-CSRF-Token": csrf}).status_code == 204
    found = requests_(client)
    assert [(e["operator"], e["via"], e["method"], e["path"], e["status"]) for e in found] == [
        ("mia", "session", "DELETE", "/v1/admin/session", 204),
        ("mia", "session", "PUT", "/v1/admin/test-whitelist", 403),
        ("mia", "session", "POST", "/v1/admin/session", 201),
    ]


def test_pages_go_back_in_time_with_next_before(story, client, redis_client):
    for n in range(5):
        audit.record(redis_client, operator="ada", role="admin", via="bearer", action="a",
                     method="POST", path=f"/v1/admin/x/{n}", status=200, request_id=None)
    first = entries(client, limit=2)
    assert [e["path"][-1] for e in first["entries"]] == ["4", "3"]
    second = entries(client, limit=2, before=first["next_before"])
    assert [e["path"][-1] for e in second["entries"]] == ["2", "1"]
    last = entries(client, limit=2, before=second["next_before"])
    assert [e["path"][-1] for e in last["entries"]] == ["0"] and last["next_before"] is None
    assert entries(client, before="0-0") == {"entries": [], "next_before": None}
    res = client.get("/v1/admin/audit", query_string={"before": "yesterday"}, headers=ADMIN)
    story.assert_error(res, 422)


def test_the_log_is_trimmed_by_age_never_by_count(redis_client):
    day_ms = 86400 * 1000
    now_ms = int(time.time() * 1000)
    for age in (500, 450):  # days: older than the retention
        redis_client.xadd(keys.audit_log(), {"path": f"/{age}"}, id=f"{now_ms - age * day_ms}-0")
    redis_client.xadd(keys.audit_log(), {"path": "/300"}, id=f"{now_ms - 300 * day_ms}-0")
    for i in range(300):
        audit.record(redis_client, operator="ada", role="admin", via="bearer", action="a",
                     method="POST", path=f"/new{i}", status=200, request_id=None)
    kept = [v["path"] for _, v in redis_client.xrange(keys.audit_log())]
    assert "/300" in kept and "/new0" in kept and len(kept) >= 301  # nothing young trimmed
    assert "/500" not in kept and "/450" not in kept


def test_an_operators_refusals_past_the_bound_are_counted_not_listed(redis_client):
    now = time.time()
    for i in range(audit.REFUSALS_LISTED_PER_MINUTE + 20):
        audit.record(redis_client, operator="mia", role="marketing", via="bearer", action="x",
                     method="POST", path=f"/{i}", status=403, request_id=None, at=now)
    listed = [v for _, v in redis_client.xrange(keys.audit_log())]
    assert len(listed) == audit.REFUSALS_LISTED_PER_MINUTE + 1
    assert listed[-1]["action"] == audit.REFUSALS_COUNTED
    counted = redis_client.get(keys.audit_refusals("mia", int(now // 60)))
    assert int(counted) == audit.REFUSALS_LISTED_PER_MINUTE + 20
    audit.record(redis_client, operator="mia", role="marketing", via="bearer", action="ok",
                 method="PUT", path="/done", status=200, request_id=None, at=now)
    assert redis_client.xrevrange(keys.audit_log(), count=1)[0][1]["action"] == "ok"


def test_commands_that_change_state_are_recorded_as_cli(story, runner, client):
    card = story.card()
    res = runner.invoke(args=["cards", "stock", card, "+5"])
    assert res.exit_code == 0, res.output
    assert runner.invoke(args=["cards", "get", card]).exit_code == 0  # a read: none
    res = runner.invoke(args=["operators", "remove", "nobody"])
    assert res.exit_code == 1
    res = runner.invoke(args=["audit", "--limit", "5"])
    assert res.exit_code == 0, res.output
    found = json.loads(res.stdout)["entries"]
    assert [(e["operator"], e["via"], e["action"], e["path"], e["status"]) for e in found] == [
        ("cli", "cli", "operators remove", "bff operators remove nobody", 1),
        ("cli", "cli", "cards stock", f"bff cards stock {card} +5", 0),
    ]
