"""The reservation of a new link (``bff.domain.ownership._hold``) while a request runs: a
request of the same link that finds the reservation released between its two reads takes it,
instead of being told the code is another user's (seen as a stray 403 among six concurrent
activations of one member, one of them failing upstream)."""

from __future__ import annotations

from typing import Any

import pytest

from bff.domain.ownership import Claim, CodeFacts, _hold
from bff.ground.errors import Forbidden
from bff.ground.store import keys


def released_in_between(monkeypatch: pytest.MonkeyPatch, r: Any, pending: str) -> list[bool]:
    """The reservation's first round trip (SET NX, then GET, in one pipeline) meets another
    request's reservation, which that request releases between the two commands."""
    from bff.domain import ownership

    real, raced = ownership.coalesce.send, []

    def send(client: Any, build: Any, **kwargs: Any) -> list[Any]:
        replies = real(client, build, **kwargs)
        if not raced and client is r and r.get(pending) is not None:
            raced.append(True)
            r.delete(pending)  # ours, undone: as if the other request's, released since
            return [None, None, *replies[2:]]
        return replies

    monkeypatch.setattr(ownership.coalesce, "send", send)
    return raced


def claim(mp: str, oa: str) -> Claim:
    facts = CodeFacts(card_id="p" + "A" * 27, code="123456789012", oa_openid=oa,
                      status="NORMAL", can_consume=True)
    return Claim(facts, link_source="card_ext", link_ids={"mp_openid": mp, "oa_openid": oa})


def test_a_reservation_released_in_between_is_taken(redis_client, monkeypatch):
    pending = keys.identity_pending("mp-hold-1")
    raced = released_in_between(monkeypatch, redis_client, pending)
    try:
        assert _hold(redis_client, claim("mp-hold-1", "oa-hold-1")) is True
        assert raced and redis_client.get(pending) == "oa-hold-1"
    finally:
        redis_client.delete(pending)


def test_another_receivers_reservation_still_refuses(redis_client):
    pending = keys.identity_pending("mp-hold-2")
    redis_client.set(pending, "oa-someone-else", ex=60)
    try:
        with pytest.raises(Forbidden):
            _hold(redis_client, claim("mp-hold-2", "oa-hold-2"))
    finally:
        redis_client.delete(pending)
