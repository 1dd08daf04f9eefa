"""Hostile request bodies get the one error shape, never a 500, on every JSON endpoint."""

from __future__ import annotations

import re

import pytest

from tests.story import ADMIN, bearer

DEEP_OBJECT = b'{"a":' * 2000 + b"1" + b"}" * 2000
DEEP_LIST = b"[" * 5000 + b"]" * 5000
LONE_SURROGATE = '"\\ud800x"'

JSON_ENDPOINTS = [
    ("POST", "/v1/sessions/miniprogram", "code"),
    ("POST", "/v1/sessions/h5", "code"),
    ("POST", "/v1/cards/add-card", None),
    ("POST", "/v1/cards/choose-card", None),
    ("POST", "/v1/cards/codes/decrypt", "encrypt_code"),
    ("POST", "/v1/cards/codes/redeem", "code"),
    ("POST", "/v1/jssdk/config", "url"),
    ("POST", "/v1/membership/activation-plugin", "card_id"),
    ("POST", "/v1/membership/activate", "activate_ticket"),
    ("PUT", "/v1/admin/cards/{card}/profile", None),
    ("POST", "/v1/admin/cards/{card}/pool", None),
    ("POST", "/v1/admin/codes/query", "encrypt_code"),
    ("POST", "/v1/admin/codes/redeem", "code"),
]


@pytest.fixture
def headers(story) -> dict:
    return {**bearer(story.login(story.user())), "Content-Type": "application/json"}


@pytest.mark.parametrize(("method", "path", "field"), JSON_ENDPOINTS)
def test_deep_nesting_and_lone_surrogates_are_400(story, client, headers, method, path, field):
    path = path.format(card=story.card())
    auth = ADMIN if "/admin/" in path else headers
    hdrs = {**auth, "Content-Type": "application/json"}
    for body in (DEEP_OBJECT, DEEP_LIST):
        story.assert_error(client.open(path, method=method, data=body, headers=hdrs), 400)
    if field:
        body = f'{{"{field}": {LONE_SURROGATE}}}'
        res = client.open(path, method=method, data=body, headers=hdrs)
        story.assert_error(res, 400)
        assert "surrogate" in res.get_json()["message"]


def test_nested_lone_surrogate_in_add_card_is_400(story, client, headers):
    body = '{"cards": [{"card_id": ' + LONE_SURROGATE + '}]}'
    res = client.post("/v1/cards/add-card", data=body, headers=headers)
    story.assert_error(res, 400)


def test_ordinary_escapes_still_pass(client, headers):
    body = '{"code": "caf\\u00e9"}'  # a valid escape: WeChat answers, not the guard
    res = client.post("/v1/sessions/miniprogram", data=body,
                      headers={"Content-Type": "application/json"})
    assert res.status_code != 400 or "surrogate" not in res.get_json()["message"]
    assert res.status_code < 500


HUGE_INT = "9" * 4301  # one digit more than Python converts (sys.get_int_max_str_digits)


def json_operations(client) -> list[tuple[str, str]]:
    """Every operation of the spec that takes a JSON body, path parameters filled in."""
    spec = client.get("/openapi.json").get_json()
    return [
        (method.upper(), re.sub(r"\{[^}]+\}", "pcard_x", path))
        for path, ops in spec["paths"].items()
        for method, op in ops.items() if isinstance(op, dict)
        if "application/json" in op.get("requestBody", {}).get("content", {})
    ]


def test_huge_integers_anywhere_in_any_json_body_are_400(story, client, headers):
    bodies = (
        f'{{"code": {HUGE_INT}}}',
        f'{{"cards": [{{"card_id": "pcard_x", "fixed_begintimestamp": -{HUGE_INT}}}]}}',
        HUGE_INT,
    )
    operations = json_operations(client)
    assert len(operations) >= 15
    for method, path in operations:
        auth = ADMIN if path.startswith("/v1/admin/") else headers
        for body in bodies:
            res = client.open(path, method=method, data=body,
                              headers={**auth, "Content-Type": "application/json"})
            story.assert_error(res, 400)
            assert "4300 digits" in res.get_json()["message"], (method, path)


def test_integers_as_long_as_python_converts_reach_validation(story, client, headers):
    body = '{"code": ' + "9" * 4300 + "}"
    res = client.post("/v1/sessions/miniprogram", data=body,
                      headers={"Content-Type": "application/json"})
    story.assert_error(res, 422)


def test_over_long_query_strings_get_the_json_error_shape(story, client):
    for path in ("/v1/admin/events", "/v1/capabilities", "/healthz", "/nothing-here"):
        res = client.get(path, query_string={"ua": "x" * 5000}, headers=ADMIN)
        story.assert_error(res, 414)
    assert client.get("/v1/capabilities", query_string={"ua": "x" * 1000}).status_code == 200
    # counted decoded, as the spec's maxLength: 1000 characters of 6 bytes each pass
    assert client.get("/healthz", query_string={"a": "é" * 1000}).status_code == 200
    # a User-Agent is printable ASCII: 1024 4-byte characters would be 12 KB on the request
    # line, past gunicorn's limit (tests/test_spec.py checks every operation's worst case)
    story.assert_error(client.get("/v1/capabilities", query_string={"ua": "é"}), 422)
    story.assert_error(client.get("/healthz", query_string={"a": "é" * 3000}), 414)  # 18 KB sent


@pytest.mark.parametrize("body", [
    {"bind_openid": 1}, {"self_redeem": "true"}, {"init_bonus": 1.5}, {"init_bonus": True},
    {"init_bonus": 2**31}, {"init_balance": -1}, {"membership_number": {"width": "3"}},
])
def test_profile_fields_take_their_json_type_only(story, client, body):
    card = story.card()
    res = client.put(f"/v1/admin/cards/{card}/profile", json=body, headers=ADMIN)
    story.assert_error(res, 422)


def test_patterns_match_the_whole_value_as_the_spec_says(story, client, headers):
    # re.match with "$" accepts one trailing newline; the spec's pattern does not
    res = client.post("/v1/cards/add-card", json={"cards": [{"card_id": "pcard\n"}]},
                      headers=headers)
    story.assert_error(res, 422)
    res = client.post("/v1/jssdk/config", json={"url": "http://localhost/\n"}, headers=headers)
    story.assert_error(res, 422)
