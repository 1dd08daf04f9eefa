"""add-card's fast load/dump paths give exactly what the marshmallow schemas give."""

from __future__ import annotations

import json

import pytest
from marshmallow import Schema, ValidationError

from bff.edges.cards.resources import AddCard
from bff.edges.cards.schemas import AddCardSchema, CardListSchema, fast_add_card

P1, P2 = "p" + "1" * 27, "p" + "2" * 27  # card_ids as WeChat hands them out: 28 characters
GOOD = [
    {"cards": [{"card_id": "pABC_def-1" + "x" * 18}]},
    {"cards": [{"card_id": P1, "outer_str": ""}, {"card_id": P2, "outer_str": "x" * 100}]},
    {"cards": [{"card_id": P1, "fixed_begintimestamp": 0}] * 10},
    {"cards": [{"card_id": P1, "fixed_begintimestamp": 2**32 - 1, "outer_str": "渠道"}]},
]
BAD = [
    {}, {"cards": []}, {"cards": [{"card_id": "p"}] * 11}, {"cards": "p1"},
    {"cards": [{"card_id": "p 1"}]}, {"cards": [{"card_id": ""}]}, {"cards": [{}]},
    {"cards": [{"card_id": "pABC_def-1"}]}, {"cards": [{"card_id": P1 + "1"}]},
    {"cards": [{"card_id": 1}]}, {"cards": [{"card_id": "p", "outer_str": "x" * 101}]},
    {"cards": [{"card_id": "p", "outer_str": "a~b"}]},
    {"cards": [{"card_id": "p", "fixed_begintimestamp": True}]},
    {"cards": [{"card_id": "p", "fixed_begintimestamp": "1"}]},
    {"cards": [{"card_id": "p", "fixed_begintimestamp": -1}]},
    {"cards": [{"card_id": "p", "fixed_begintimestamp": 2**32}]},
    {"cards": [{"card_id": "p", "extra": 1}]}, {"cards": [{"card_id": "p"}], "more": 1},
    {"cards": [None]}, [], "cards",
]


@pytest.mark.parametrize("body", GOOD)
def test_fast_load_equals_the_full_load(body):
    assert fast_add_card(body) == Schema.load(AddCardSchema(), body)
    assert AddCardSchema().load(body) == Schema.load(AddCardSchema(), body)


@pytest.mark.parametrize("body", BAD)
def test_what_the_full_load_refuses_never_passes_the_fast_path(body):
    assert fast_add_card(body) is None
    with pytest.raises(ValidationError):
        AddCardSchema().load(body)


def test_fast_dump_equals_the_full_dump():
    answer = {"card_list": [{"cardId": "p1", "cardExt": '{"a":1}'},
                            {"cardId": "p2", "cardExt": "{}"}]}
    assert CardListSchema().dump(answer) == Schema.dump(CardListSchema(), answer)


# -- the view's fast path (bff.edges.http.fast_path): the same answer as the decorated view ----


def _answer_shape(res) -> tuple:
    body = res.get_json()
    exts = [(c["cardId"], sorted(json.loads(c["cardExt"]))) for c in body["card_list"]]
    return res.status_code, res.headers["Content-Type"], sorted(body), exts


def test_a_well_formed_add_card_takes_the_fast_path(story, monkeypatch):
    card_id = story.card()
    token = story.login(story.user())

    def decorated(*args, **kwargs):
        raise AssertionError("the decorated view answered a well-formed body")

    monkeypatch.setattr(AddCard, "post", decorated)
    res = story.sign(token, {"card_id": card_id, "outer_str": "shop"})
    assert res.status_code == 200 and res.headers["X-Request-Id"]


def test_the_fast_path_answers_as_the_decorated_view(story, monkeypatch):
    card_id = story.card()
    user = story.user()
    token = story.login(user)
    item = {"card_id": card_id, "outer_str": "shop", "fixed_begintimestamp": 1700000000}
    fast = story.sign(token, item)
    monkeypatch.setattr(AddCard, "fast_load", staticmethod(lambda data: None))
    slow = story.sign(token, item)
    assert _answer_shape(fast) == _answer_shape(slow)
    assert fast.get_data().endswith(b"\n") and slow.get_data().endswith(b"\n")  # jsonify's
    ext = json.loads(fast.get_json()["card_list"][0]["cardExt"])
    assert ext["outer_str"] == json.loads(slow.get_json()["card_list"][0]["cardExt"])["outer_str"]
    assert story.add_card(user, fast.get_json()["card_list"])["card_list"][0]["isSuccess"]


@pytest.mark.parametrize(("body", "content_type", "status"), [
    (b'{"cards": [{"card_id": "p1"}]}', "application/json", 422),  # the fast load refuses
    (b'{"cards": [', "application/json", 400),  # malformed: the parser's own 400
    ('{"cards": []}'.encode("utf-16"), "application/json", 400),  # not UTF-8
    (b'{"cards": [{"card_id": "p' + b"1" * 27 + b'"}]}', "text/plain", 415),
])
def test_what_the_fast_path_does_not_take_gets_the_decorated_views_answer(
        story, body, content_type, status):
    token = story.login(story.user())
    res = story.client.post("/v1/cards/add-card", data=body, content_type=content_type,
                            headers={"Authorization": f"Bearer {token}"})
    assert res.status_code == status
    assert res.get_json()["code"] == status and res.get_json()["request_id"]


def test_the_fast_path_keeps_authentication_and_the_quota(story, client, redis_client):
    res = client.post("/v1/cards/add-card", json={"cards": [{"card_id": "p" + "1" * 27}]})
    assert res.status_code == 401
    token = story.login(story.user())
    unknown = story.sign(token, {"card_id": "p" + "9" * 27})  # WeChat is asked: charged
    assert unknown.status_code == 404
    assert list(redis_client.scan_iter(match="bff:limits*user-failures*"))  # the refusal's charge


@pytest.mark.parametrize("debug", [False, True])
def test_jsonify_fast_is_jsonify(debug):
    import datetime

    from flask import Flask, jsonify

    from bff.edges.http.fast_path import jsonify_fast

    app = Flask(__name__)
    app.debug = debug
    obj = {"z": 1, "a": [{"cardExt": '{"x":"渠道"}', "cardId": "p1"}], "when":
           datetime.datetime(2026, 1, 2, 3, 4, 5), "none": None, "f": 1.5}
    with app.app_context():
        fast, slow = jsonify_fast(app, obj), jsonify(obj)
        assert fast.get_data() == slow.get_data()
        assert fast.headers == slow.headers and fast.status_code == slow.status_code
        app.json.sort_keys = False
        assert jsonify_fast(app, obj).get_data() == jsonify(obj).get_data()


def test_the_fast_path_authenticates_even_if_the_gate_did_not(story, client, monkeypatch):
    """Defence in depth: _sign asks current_user(), which authenticates when nothing did."""
    from bff.edges.http.request_guard import AUTHENTICATE_ATTRIBUTE

    monkeypatch.delattr(AddCard.post, AUTHENTICATE_ATTRIBUTE)
    monkeypatch.setitem(story.app.extensions, "bff_request_views", {})
    res = client.post("/v1/cards/add-card", json={"cards": [{"card_id": "p" + "1" * 27}]})
    assert res.status_code == 401 and res.get_json()["code"] == 401
