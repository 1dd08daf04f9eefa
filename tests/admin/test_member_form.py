"""A member's form answers: admin alone reads them, one member at a time, and each read is in
the audit (GET /v1/admin/members finds members without their personal data)."""

from __future__ import annotations

import pytest

from tests.story import ADMIN

pytestmark = pytest.mark.redis


def _member(story, app):
    from bff.edges.events import process_pending

    m = story.new_member()
    assert story.activate(m["token"], m["returned"]).status_code == 200
    process_pending(app)
    return m["card_id"], m["returned"]["code"]


def test_admin_reads_a_members_form_and_the_read_is_audited(story, app, client):
    card_id, code = _member(story, app)
    ada = story.operator("ada", "admin")
    res = client.get(f"/v1/admin/members/{card_id}/{code}", headers=ada)
    assert res.status_code == 200, res.get_json()
    assert res.json["code"] == code and res.json["fields"], res.json
    found = client.get("/v1/admin/members", query_string={"code": code}, headers=ada).json
    assert "fields" not in found["members"][0]  # the search still leaves them out
    entries = client.get("/v1/admin/audit", headers=ADMIN).json["entries"]
    assert any(e["operator"] == "ada" and e["method"] == "GET" and e["path"].endswith(code)
               for e in entries), entries


def test_marketing_and_staff_may_not_read_member_forms(story, app, client):
    card_id, code = _member(story, app)
    for role in ("marketing", "staff"):
        res = client.get(f"/v1/admin/members/{card_id}/{code}",
                         headers=story.operator(f"op-{role}", role))
        story.assert_error(res, 403)


def test_no_such_member_is_404(story, client):
    res = client.get("/v1/admin/members/pAbCdEfGhIjKlMnOpQrStUvWxYz1/NOPE", headers=ADMIN)
    story.assert_error(res, 404)
