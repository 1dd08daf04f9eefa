"""Review 3 (attacker's eye): the audit log.

These tests fail on the code as reviewed; each passes once its finding is fixed
(tests/security/REVIEW3.md).
"""

from __future__ import annotations

from bff.domain import audit
from bff.ground.store import keys
from tests.story import ADMIN


def test_review3_a_low_role_operator_cannot_push_real_entries_out_of_the_audit(
        story, client, redis_client, monkeypatch):
    """R3-3. The audit is one stream trimmed by *count* (``MAXLEN ~ 100,000``), every refused
    request of a known operator is appended, and nothing limits how fast an operator sends
    them. So any operator, staff included, can erase the record of what was done before
    (theirs or anyone's) with ~100,000 cheap refused requests (a few minutes of a loop):
    repudiation by the people the audit is meant to watch.

    Scaled down here (the cap patched to 50); a fix keeps the entry: retention by age
    (``MINID``) instead of count, refusals throttled/kept apart, or an alert and refusal
    once an operator's refusals pass a bound."""
    monkeypatch.setattr(audit, "RETENTION_SECONDS", audit.RETENTION_SECONDS)
    mia = story.operator("mia", "marketing")
    changed = client.put("/v1/admin/test-whitelist", json={"openid": [], "username": []},
                         headers=mia)
    assert changed.status_code == 200, changed.json
    for _ in range(800):  # refused (403) but each one audited
        res = client.post("/v1/admin/codes/redeem", json={"code": "x"}, headers=mia)
        assert res.status_code == 403
    kept = [v for _, v in redis_client.xrange(keys.audit_log())]
    assert any(v["action"] == "admin-issuing.TestWhitelist" and v["operator"] == "mia"
               for v in kept), "mia's whitelist change was pushed out of the audit by her own 403s"


def test_review3_the_audits_request_id_is_not_chosen_by_the_operator(story, client):
    """R3-4. Each audit entry's ``request_id`` is the caller's own ``X-Request-Id`` when it
    looks sane, so an operator chooses it: every change can carry the id of another
    request (or of another operator's entry), and following an entry into the logs then
    leads to someone else's lines. The audit should record an id the service made (and may
    keep the caller's separately)."""
    staff = story.operator("till", "staff")
    forged = "d1a2440ab09c4e928062db7bf095bd77"  # e.g. another operator's request id
    for _ in range(2):
        client.post("/v1/admin/cards", json={}, headers={**staff, "X-Request-Id": forged})
    entries = client.get("/v1/admin/audit", headers=ADMIN).json["entries"]
    ids = [e["request_id"] for e in entries if e["operator"] == "till"]
    assert len(ids) == 2
    assert forged not in ids and ids[0] != ids[1], ids
