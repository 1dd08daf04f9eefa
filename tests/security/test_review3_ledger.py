"""Review 3 (attacker's eye): who the ledgers name.

Fails on the code as reviewed; passes once the finding is fixed (tests/security/REVIEW3.md).
"""

from __future__ import annotations

import json


def test_review3_the_member_ledger_names_the_operator_not_a_typed_name(story, client, app):
    """R3-7. A member change's ledger ``by`` is whatever the body says (default "operator";
    the console fills in the signed-in name client-side). An admin account ``bob`` records a
    balance change as made by ``alice``; a bearer caller who leaves it out is just
    "operator". The counter ledger already names the authenticated account (its free-text
    ``staff_id`` is dropped for accounts); the member ledger should too."""
    from bff.edges.events import process_pending

    bob = story.operator("bob", "admin")
    story.operator("alice", "admin")
    m = story.new_member()
    assert story.activate(m["token"], m["returned"]).status_code == 200
    process_pending(app)
    card_id, code = m["card_id"], m["returned"]["code"]
    res = client.post(f"/v1/admin/members/{card_id}/{code}/changes",
                      json={"add_bonus": 5, "by": "alice"},
                      headers={**bob, "Idempotency-Key": "r3-7"})
    assert res.status_code == 201, res.get_json()
    ledger = client.get(f"/v1/admin/members/{card_id}/{code}/changes", headers=bob).get_json()
    [entry] = [c for c in ledger["changes"] if c.get("source") == "api"]
    assert entry["by"] == "bob", json.dumps(entry)
