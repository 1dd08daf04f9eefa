"""Exactly once (bff.domain.once): the four operations done once per key answer alike.

A retry (same key, same body) gets the first answer and WeChat sees one call; the same key with
another body is a 422; a request while the first with its key is still running waits for it and
gets its answer, or, when the first outlasts the wait, a 503 with Retry-After.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from bff.domain import once
from bff.edges.events import process_pending
from bff.ground.wechat.api import WeChatApi
from tests.catalogue.samples import coupon
from tests.story import ADMIN, bearer

Post = Callable[[Any, str, str], Any]  # (client, key, "a" | "b": which body) -> response


@dataclass
class Operation:
    post: Post
    upstream: str  # the sandbox path counted by story.calls
    method: str  # the WeChatApi method making that call
    first: int  # the first answer's status
    retried: int  # a retry's status


def _stock(story, app) -> Operation:
    card_id = story.create_card(coupon("GIFT"))

    def post(c, key: str, body: str) -> Any:
        return c.post(f"/v1/admin/cards/{card_id}/stock", json={"delta": 5 if body == "a" else 6},
                      headers={**ADMIN, "Idempotency-Key": key})

    return Operation(post, "card/modifystock", "modify_stock", 200, 200)


def _redemption(story, app) -> Operation:
    card_id = story.card()
    codes = {body: story.code_of(story.take(card_id, signed_by="ticket")[1]) for body in "ab"}

    def post(c, key: str, body: str) -> Any:
        return c.post("/v1/admin/codes/redeem", json={"card_id": card_id, "code": codes[body]},
                      headers={**ADMIN, "Idempotency-Key": key})

    return Operation(post, "card/code/consume", "code_consume", 200, 200)


def _redemption_elsewhere(story, app) -> Operation:
    """The same code under one key, redeemed "again" at another location: another request."""
    card_id = story.card()
    code = story.code_of(story.take(card_id, signed_by="ticket")[1])

    def post(c, key: str, body: str) -> Any:
        return c.post("/v1/admin/codes/redeem",
                      json={"card_id": card_id, "code": code,
                            "location": "Store 12" if body == "a" else "Store 13"},
                      headers={**ADMIN, "Idempotency-Key": key})

    return Operation(post, "card/code/consume", "code_consume", 200, 200)


def _member_change(story, app) -> Operation:
    m = story.new_member()
    assert story.activate(m["token"], m["returned"]).status_code == 200
    process_pending(app)
    path = f"/v1/admin/members/{m['card_id']}/{m['returned']['code']}/changes"

    def post(c, key: str, body: str) -> Any:
        return c.post(path, json={"add_bonus": 1 if body == "a" else 2},
                      headers={**ADMIN, "Idempotency-Key": key})

    return Operation(post, "card/membercard/updateuser", "membercard_updateuser", 201, 200)


def _activation(story, app) -> Operation:
    """The key is the activate_ticket (with its code); another body, another card."""
    m = story.new_member()
    other_card = story.member_card()

    def post(c, key: str, body: str) -> Any:
        return c.post("/v1/membership/activate", headers=bearer(m["token"]), json={
            "activate_ticket": m["returned"]["activate_ticket"], "code": m["returned"]["code"],
            "card_id": m["card_id"] if body == "a" else other_card})

    return Operation(post, "card/membercard/activate", "membercard_activate", 200, 200)


OPERATIONS = {"catalogue stock": _stock, "redemption": _redemption,
              "redemption elsewhere": _redemption_elsewhere,
              "member change": _member_change, "activation": _activation}


@pytest.mark.parametrize("case", ["retry", "other body", "concurrent"])
@pytest.mark.parametrize("name", list(OPERATIONS))
def test_one_behaviour_for_every_once(story, app, client, monkeypatch, name, case):
    op = OPERATIONS[name](story, app)
    if case == "retry":
        first = op.post(client, "k-1", "a")
        again = op.post(client, "k-1", "a")
        assert first.status_code == op.first, first.get_json()
        assert again.status_code == op.retried and again.get_json() == first.get_json()
        assert story.calls(op.upstream) == 1
    elif case == "other body":
        if name == "activation":  # a ticket's code names its card: another card is refused
            pytest.skip("the ownership check refuses another card before the once store")
        assert op.post(client, "k-2", "a").status_code == op.first
        story.assert_error(op.post(client, "k-2", "b"), 422, message="already used for another")
        assert story.calls(op.upstream) == 1
    else:
        _concurrent(story, app, client, monkeypatch, op)


def _concurrent(story, app, client, monkeypatch, op: Operation) -> None:
    """The first holds WeChat's call: a request that waits less than it gets 503 Retry-After;
    one that waits until it is done gets its answer; WeChat sees one call."""
    entered, go_on = threading.Event(), threading.Event()
    real = getattr(WeChatApi, op.method)

    def slow(self, *args, **kwargs):
        if not entered.is_set():
            entered.set()
            assert go_on.wait(30)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(WeChatApi, op.method, slow)
    answers: dict[str, Any] = {}

    def post(who: str) -> None:
        answers[who] = op.post(app.test_client(), "k-3", "a")

    first = threading.Thread(target=post, args=("first",))
    first.start()
    try:
        assert entered.wait(30)
        monkeypatch.setattr(once, "WAIT_SECONDS", 0.2)
        busy = op.post(client, "k-3", "a")
        story.assert_error(busy, 503)
        assert int(busy.headers["Retry-After"]) >= 1
        monkeypatch.setattr(once, "WAIT_SECONDS", 10.0)
        waiting = threading.Thread(target=post, args=("waiting",))
        waiting.start()
        time.sleep(0.2)
    finally:
        go_on.set()
    first.join(30)
    waiting.join(30)
    assert answers["first"].status_code == op.first, answers["first"].get_json()
    assert answers["waiting"].status_code == op.retried
    assert answers["waiting"].get_json() == answers["first"].get_json()
    assert story.calls(op.upstream) == 1
