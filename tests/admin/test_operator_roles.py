"""Operators with roles: staff at the counter, marketing over cards and campaigns, admin over
everything; each endpoint's roles in the spec, a refused role a 403 in the one error shape."""

from __future__ import annotations

import pytest

from bff.config import SANDBOX_ADMIN_TOKEN
from tests.story import ADMIN

CATALOGUE_CARD = {"card": {"card_type": "GROUPON", "groupon": {"deal_detail": "x"}}}


def test_staff_query_and_redeem_at_the_counter_and_the_ledger_names_them(story, client):
    staff = story.operator("till-3", "staff")
    card = story.card()
    _, encrypted = story.take(card, signed_by="ticket")
    code = story.code_of(encrypted)
    res = client.post("/v1/admin/codes/query", json={"code": code}, headers=staff)
    assert res.status_code == 200, res.json
    res = client.post("/v1/admin/codes/redeem", json={"code": code, "staff_id": "made-up",
                                                      "location": "store 12"},
                      headers={**staff, "Idempotency-Key": "sale-1"})
    assert res.status_code == 200, res.json
    assert res.json["operator"] == "till-3" and res.json["staff_id"] is None
    again = client.post("/v1/admin/codes/redeem", json={"code": code}, headers=staff)
    story.assert_error(again, 409, message="by operator till-3")


def test_break_glass_keeps_the_free_text_staff_id(story, client):
    card = story.card()
    code = story.code_of(story.take(card, signed_by="ticket")[1])
    res = client.post("/v1/admin/codes/redeem", json={"code": code, "staff_id": "s1"},
                      headers=ADMIN)
    assert res.status_code == 200, res.json
    assert res.json["staff_id"] == "s1" and res.json["operator"] == "break-glass"


@pytest.mark.parametrize(("method", "path", "body"), [
    ("GET", "/v1/admin/cards", None),
    ("POST", "/v1/admin/cards", {"not": "even valid"}),  # 403 before the body is judged
    ("PUT", "/v1/admin/test-whitelist", {"openid": []}),
    ("POST", "/v1/admin/qrcodes", {}),
    ("GET", "/v1/admin/events", None),
    ("GET", "/v1/admin/members?code=1", None),
    ("GET", "/v1/admin/audit", None),
])
def test_staff_are_refused_everything_but_the_counter(story, client, method, path, body):
    staff = story.operator("till-3", "staff")
    res = client.open(path, method=method, json=body, headers=staff)
    story.assert_error(res, 403, message="the staff role may not")
    assert "marketing" in res.json["message"] or "admin" in res.json["message"]


def test_marketing_runs_the_catalogue_and_reads_members_but_changes_none(story, client):
    marketing = story.operator("mia", "marketing")
    card = story.card()
    assert client.get("/v1/admin/cards", headers=marketing).status_code == 200
    assert client.get(f"/v1/admin/cards/{card}/profile", headers=marketing).status_code == 200
    res = client.put("/v1/admin/test-whitelist", json={"openid": [], "username": []},
                     headers=marketing)
    assert res.status_code == 200, res.json
    assert client.get("/v1/admin/members", query_string={"code": "1"},
                      headers=marketing).status_code == 200
    assert client.get("/v1/admin/events", headers=marketing).status_code == 200
    refused = [
        client.post("/v1/admin/members/pCard/123/changes", json={"add_bonus": 1},
                    headers={**marketing, "Idempotency-Key": "k1"}),
        client.post("/v1/admin/codes/unavailable", json={"card_id": card, "code": "1"},
                    headers=marketing),
        client.delete("/v1/admin/identities", query_string={"oa_openid": "o1"},
                      headers=marketing),
        client.get("/v1/admin/identities", query_string={"oa_openid": "o1"},
                   headers=marketing),
        client.post("/v1/admin/codes/redeem", json={"code": "1"}, headers=marketing),
        client.get("/v1/admin/audit", headers=marketing),
    ]
    for res in refused:
        story.assert_error(res, 403, message="the marketing role may not")


def test_an_admin_operator_may_do_everything(story, client):
    admin = story.operator("ada", "admin")
    assert client.get("/v1/admin/audit", headers=admin).status_code == 200
    assert client.get("/v1/admin/cards", headers=admin).status_code == 200
    res = client.post("/v1/admin/members/pCard/123/changes", json={"add_bonus": 1},
                      headers={**admin, "Idempotency-Key": "k1"})
    assert res.status_code not in (401, 403), res.json
    res = client.delete("/v1/admin/identities", query_string={"oa_openid": "o1"}, headers=admin)
    assert res.status_code not in (401, 403), res.json
    res = client.post("/v1/admin/codes/query", json={"code": "1"}, headers=admin)
    assert res.status_code not in (401, 403), res.json


def test_an_unknown_or_removed_token_is_401(story, client, runner):
    staff = story.operator("till-3", "staff")
    for headers in ({"Authorization": "Bearer bffop_nobody"}, {"Authorization": "Basic x"}, {}):
        story.assert_error(client.get("/v1/admin/events", headers=headers), 401)
    assert runner.invoke(args=["operators", "remove", "till-3"]).exit_code == 0
    story.assert_error(client.post("/v1/admin/codes/query", json={"code": "1"},
                                   headers=staff), 401)


def test_a_console_session_carries_its_operators_role(story, client):
    staff = story.operator("till-3", "staff")
    csrf = story.sign_in(staff["Authorization"].removeprefix("Bearer "))["csrf_token"]
    story.assert_error(client.get("/v1/admin/cards"), 403)
    res = client.post("/v1/admin/codes/query", json={"code": "1"},
                      headers={"X-CSRF-Token": csrf})
    assert res.status_code not in (401, 403), res.json


def test_no_token_is_stored_in_clear(story, client, runner, redis_client):
    tokens = [story.operator(f"op-{role}", role)["Authorization"].removeprefix("Bearer ")
              for role in ("staff", "marketing", "admin")]
    res = runner.invoke(args=["operators", "rotate", "op-staff"])
    assert res.exit_code == 0
    story.sign_in(tokens[1])
    session_id = client.get_cookie("bff_console").value
    story.sign_in(SANDBOX_ADMIN_TOKEN)
    dump = []
    for key in redis_client.scan_iter(match="*", count=1000):
        kind = redis_client.type(key)
        value = {"string": redis_client.get, "hash": redis_client.hgetall,
                 "set": redis_client.smembers, "list": lambda k: redis_client.lrange(k, 0, -1),
                 "stream": lambda k: redis_client.xrange(k), "zset":
                 lambda k: redis_client.zrange(k, 0, -1, withscores=True)}[kind](key)
        dump.append(f"{key} {value!r}")
    text = "\n".join(dump)
    assert "op-marketing" in text  # the scan saw the accounts
    for secret in [*tokens, session_id, SANDBOX_ADMIN_TOKEN, res.stdout]:
        assert secret.strip() and secret.strip() not in text


def test_the_spec_names_each_endpoints_roles_and_documents_403(client):
    spec = client.get("/openapi.json").get_json()
    paths = spec["paths"]
    expected = {
        ("post", "/v1/admin/codes/redeem"): ["staff", "admin"],
        ("post", "/v1/admin/codes/query"): ["staff", "admin"],
        ("post", "/v1/admin/cards"): ["marketing", "admin"],
        ("get", "/v1/admin/members"): ["marketing", "admin"],
        ("post", "/v1/admin/members/{card_id}/{code}/changes"): ["admin"],
        ("delete", "/v1/admin/identities"): ["admin"],
        ("get", "/v1/admin/audit"): ["admin"],
    }
    for (method, path), roles in expected.items():
        op = paths[path][method]
        assert op["x-bff-roles"] == roles, (method, path)
        assert "403" in op["responses"] and ", ".join(roles) in op["responses"]["403"][
            "description"], (method, path)
        assert f"**Roles:** {', '.join(roles)}" in op["description"]
    redemption = spec["components"]["schemas"]["Redemption"]["properties"]
    assert "operator" in redemption and "break-glass" in redemption["operator"]["description"]
