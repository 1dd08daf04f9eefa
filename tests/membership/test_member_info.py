"""The caller's member-card info, and member records shared with the events area."""

from __future__ import annotations

import threading

from bff.edges.events import process_pending
from bff.edges.membership import get_member, store_member
from tests.story import MOBILE, bearer

ACTIVATE = "card/membercard/activate"


def test_no_card_no_info(story, client) -> None:
    token = story.login(story.user())
    card_id = story.member_card()
    assert client.get(f"/v1/membership/cards/{card_id}", headers=bearer(token)).status_code == 404
    assert client.get(f"/v1/membership/cards/{card_id}").status_code == 401


def test_info_before_and_after_activation(app, story, client) -> None:
    m = story.new_member()
    url = f"/v1/membership/cards/{m['card_id']}"
    # Nothing ties the card to this Mini Program user yet.
    assert client.get(url, headers=bearer(m["token"])).status_code == 404
    # The worker handles WeChat's user_get_card push (holding + unionid link): the card is theirs,
    # not yet activated.
    process_pending(app)
    info = client.get(url, headers=bearer(m["token"]))
    assert info.status_code == 200, info.get_json()
    assert info.get_json()["has_active"] is False
    assert info.get_json()["code"] == m["returned"]["code"]
    assert story.activate(m["token"], m["returned"]).status_code == 200
    info = client.get(url, headers=bearer(m["token"]))
    assert info.status_code == 200
    assert info.get_json()["has_active"] is True
    assert info.get_json()["fields"]["mobile"] == MOBILE
    assert story.calls("card/code/get") == 0  # ownership came from the recorded holding


def test_store_member_seals_and_merges(app, redis_client) -> None:
    settings = app.extensions["bff"].settings
    stored = store_member(redis_client, settings, card_id="c1", code="123", oa_openid="oa1",
                          membership_number="123", fields={"mobile": MOBILE}, source="event")
    assert stored["fields"] == {"mobile": MOBILE}
    again = store_member(redis_client, settings, card_id="c1", code="123", oa_openid=None,
                         membership_number=None, fields={"name": "x"}, source="activation")
    assert again["fields"] == {"mobile": MOBILE, "name": "x"}
    assert again["oa_openid"] == "oa1" and again["membership_number"] == "123"
    assert MOBILE not in repr(redis_client.hgetall("bff:member:c1:123"))
    # A sealed blob copied onto another record does not open there.
    redis_client.hset("bff:member:c1:456", mapping={
        "card_id": "c1", "code": "456", "fields": redis_client.hget("bff:member:c1:123", "fields")})
    member = get_member(redis_client, settings, card_id="c1", code="456")
    assert member is not None and member.fields == {}


def test_concurrent_activations_share_one_failure_then_retry(story) -> None:
    m = story.new_member()
    story.fault(ACTIVATE, errcode=40127, count=1)
    answers = story.activate_at_once(m, 6)
    statuses = [status for status, _ in answers]
    assert len(answers) == 6 and set(statuses) <= {200, 409}, answers
    assert 409 in statuses
    assert story.calls(ACTIVATE) <= 2
    ok = [body for status, body in answers if status == 200]
    retried = story.activate(m["token"], m["returned"])
    assert retried.status_code == 200
    assert all(body == retried.get_json() for body in ok)


def test_concurrent_store_member_keeps_every_field(app, redis_client) -> None:
    """The activation and the submit_membercard_user_info event merge into one sealed blob."""
    settings = app.extensions["bff"].settings
    names = [f"field{i}" for i in range(8)]
    start = threading.Barrier(len(names))

    def store(name: str) -> None:
        start.wait()
        store_member(redis_client, settings, card_id="c1", code="123", oa_openid="oa1",
                     membership_number=None, fields={name: "v"}, source="event")

    threads = [threading.Thread(target=store, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    member = get_member(redis_client, settings, card_id="c1", code="123")
    assert member is not None and member.fields == dict.fromkeys(names, "v")
