"""The simulator validates like the service and answers in one shape; WeChat's paths in WeChat's."""

from __future__ import annotations

import pytest

from tests.story import Story

DEEP = b"[" * 5000 + b"]" * 5000
HUGE = b'{"quantity": ' + b"9" * 5000 + b"}"

BAD_SIM_BODIES = [
    ("/_sim/cards", {"card_type": "GROUPON", "quantity": "lots"}),
    ("/_sim/cards", {"card_type": "GROUPON", "date_info": "x"}),
    ("/_sim/cards", {"card_type": "GROUPON", "date_info": {"type": "DATE_TYPE_FIX_TERM",
                                                           "fixed_term": "30"}}),
    ("/_sim/cards", {"card_type": "GROUPON", "date_info": {"begin_timestamp": 1e999}}),
    ("/_sim/cards", {"card_type": ["GROUPON"]}),
    ("/_sim/cards", {"card_type": "GROUPON", "title": {"a": 1}}),
    ("/_sim/cards", {"card_type": "GROUPON", "get_limit": True}),
    ("/_sim/cards", {"card_type": "GROUPON", "use_custom_code": "maybe"}),
    ("/_sim/cards", {"card_type": "GROUPON", "quantity": -1}),
    ("/_sim/cards", {"card_type": "GROUPON", "colour": "red"}),
    ("/_sim/users", {"nickname": ["x"]}),
    ("/_sim/users", {"sex": "m"}),
    ("/_sim/faults", {"path": "/cgi-bin/token", "errcode": 1e999}),
    ("/_sim/faults", {"path": "/cgi-bin/token", "http_status": 99999}),
    ("/_sim/faults", {"path": "/cgi-bin/token", "latency_ms": 10**12}),
    ("/_sim/faults", {"path": "/cgi-bin/token", "errcode": -1, "count": "2"}),
    ("/_sim/clock", {"advance_seconds": 1e999}),
    ("/_sim/clock", {"advance_seconds": "soon"}),
    ("/_sim/events", {"Event": "user_view_card", "Card Id": "x"}),
    ("/_sim/events", {"Event": "user_view_card", "CardId": {"nested": True}}),
]


@pytest.mark.parametrize(("path", "body"), BAD_SIM_BODIES)
def test_bad_simulator_input_is_a_4xx_in_the_services_shape(client, path, body):
    res = client.post(f"/sandbox{path}", json=body)
    err = Story.assert_error(res, 422)
    assert err["message"]


def test_config_values_are_typed(client):
    for body in ({"latency_ms": "slow"}, {"safe_mode": "yes"}, {"event_url": 5}):
        Story.assert_error(client.put("/sandbox/_sim/config", json=body), 422)


@pytest.mark.parametrize("raw", [DEEP, HUGE, b"{", b"\xff"])
def test_unreadable_bodies_are_refused_not_500(client, raw):
    sim = client.post("/sandbox/_sim/cards", data=raw, content_type="application/json")
    Story.assert_error(sim, 400)
    wechat = client.post("/sandbox/card/create?access_token=x", data=raw,
                         content_type="application/json")
    assert wechat.status_code == 200 and wechat.get_json()["errcode"] in (47001, 40001)


def test_valid_simulator_card_still_works(client):
    res = client.post("/sandbox/_sim/cards", json={
        "card_type": "GROUPON", "quantity": 5, "get_limit": 1, "use_custom_code": False,
        "date_info": {"type": "DATE_TYPE_FIX_TERM", "fixed_term": 30}})
    assert res.status_code == 200 and res.get_json()["card_id"]


def test_three_404s_two_shapes(client):
    app_404 = Story.assert_error(client.get("/v1/nothing-here"), 404)
    sim_404 = Story.assert_error(client.get("/sandbox/_sim/nothing-here"), 404)
    shape = {"code", "status", "message"}  # the service adds its request_id
    assert set(app_404) - {"request_id"} == set(sim_404) - {"request_id"} == shape
    wechat_404 = client.get("/sandbox/cgi-bin/nothing-here")
    assert wechat_404.status_code == 404
    assert set(wechat_404.get_json()) == {"errcode", "errmsg"}
