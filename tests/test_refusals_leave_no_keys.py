"""A refused request under a fresh Idempotency-Key leaves no key behind, in every store of
once-only operations: 5,000 refused retries must not leave 5,000 keys for 30 days."""

from __future__ import annotations

import redis

from bff.edges.events import process_pending
from bff.ground.store import keys
from tests.story import ADMIN, bearer

RETRIES = 5


def stored(r: redis.Redis) -> set[str]:
    """Every key of the service (the sandbox's own keys are its business) but the audit's: its
    log records operators' refused requests by design, and counts them per minute (a key that
    expires in two minutes)."""
    audit_refusals = keys.audit_refusals("", 0).rsplit(":", 2)[0] + ":"
    return {k for k in r.scan_iter(match="bff:*", count=1000)
            if k != keys.audit_log() and not k.startswith(audit_refusals)}


def _self_redeemed(story) -> tuple[str, str, str]:
    card_id = story.card()
    story.put_profile(card_id, self_redeem=True)
    user = story.user()
    token = story.login(user)
    code = story.my_code(token, story.take(card_id, user, token=token)[1])
    assert story.redeem(token, "first", card_id=card_id, code=code).status_code == 200
    return card_id, token, code


def test_refused_self_redemptions_leave_no_key(story, redis_client):
    card_id, token, code = _self_redeemed(story)
    story.redeem(token, "warm-up", card_id=card_id, code=code)  # any lazily made key first
    before = stored(redis_client)
    for n in range(RETRIES):
        story.assert_error(story.redeem(token, f"retry-{n}", card_id=card_id, code=code), 409,
                           message="channel self")
    assert stored(redis_client) == before
    # the redeeming key still gets its first answer, and still refuses another code
    assert story.redeem(token, "first", card_id=card_id, code=code).status_code == 200
    other = story.redeem(token, "first", card_id=card_id, code="SOMEOTHER1")
    assert other.status_code in (404, 422), other.get_json()


def test_refused_counter_redemptions_leave_no_key(story, client, redis_client):
    card_id, _, code = _self_redeemed(story)

    def counter(key: str, code: str = code):
        return client.post("/v1/admin/codes/redeem", json={"card_id": card_id, "code": code},
                           headers={**ADMIN, "Idempotency-Key": key})

    counter("warm-up")
    before = stored(redis_client)
    for n in range(RETRIES):
        story.assert_error(counter(f"till-{n}"), 409, errcode=40099)
        story.assert_error(counter(f"unknown-{n}", code=f"NOSUCHCODE{n}"), 404)
    assert stored(redis_client) == before


def test_a_consume_wechat_refuses_frees_its_key(story, client, redis_client):
    card_id = story.card()
    _, encrypted = story.take(card_id, signed_by="ticket")
    code = story.code_of(encrypted)
    before = stored(redis_client)
    story.fault("card/code/consume", errcode=40099)
    res = client.post("/v1/admin/codes/redeem", json={"card_id": card_id, "code": code},
                      headers={**ADMIN, "Idempotency-Key": "sale-1"})
    story.assert_error(res, 409)
    assert not [k for k in stored(redis_client) - before if "redeem-key" in k]


def test_refused_member_changes_leave_no_key(app, story, client, redis_client):
    m = story.new_member()
    assert story.activate(m["token"], m["returned"]).status_code == 200
    process_pending(app)
    path = f"/v1/admin/members/{m['card_id']}/{m['returned']['code']}/changes"
    before = stored(redis_client)
    for n in range(RETRIES):
        story.fault("card/membercard/updateuser", errcode=40056)
        res = client.post(path, json={"add_bonus": 5, "by": "clerk"},
                          headers={**ADMIN, "Idempotency-Key": f"change-{n}"})
        story.assert_error(res, 404)
    assert stored(redis_client) == before


def test_refused_catalogue_changes_leave_no_key(story, client, redis_client):
    client.post("/v1/admin/cards/pNOSUCHCARD000000000000000000/stock", json={"delta": 5},
                headers={**ADMIN, "Idempotency-Key": "warm-up"})
    before = stored(redis_client)
    for n in range(RETRIES):
        res = client.post("/v1/admin/cards/pNOSUCHCARD000000000000000000/stock",
                          json={"delta": 5}, headers={**ADMIN, "Idempotency-Key": f"stock-{n}"})
        story.assert_error(res, 404)
    assert stored(redis_client) == before


def test_refused_activations_leave_no_key(story, client, redis_client):
    m = story.new_member()
    forged = {**m["returned"], "activate_ticket": "forged-warm-up"}
    story.activate(m["token"], forged)
    before = stored(redis_client)
    for n in range(RETRIES):
        forged = {**m["returned"], "activate_ticket": f"forged-{n}"}
        story.assert_error(story.activate(m["token"], forged), 422, errcode=72012)
    assert stored(redis_client) == before
    assert story.activate(m["token"], m["returned"]).status_code == 200
    info = client.get(f"/v1/membership/cards/{m['card_id']}", headers=bearer(m["token"]))
    assert info.status_code == 200
