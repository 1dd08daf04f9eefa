"""Review 4 (attacker's eye): every /v1/admin route, walked from the app's url_map, asks who
calls before anything else (401 anonymous, 401 with a wrong token) and refuses a role it does
not allow (403), whatever the body. The operator views were refactored to ``operation(...)``."""

from __future__ import annotations

import pytest

from bff.domain.operators import ROLES
from bff.edges.http.admin_auth import ROLES_ATTRIBUTE

SAMPLES = {"card_id": "pFS7Fjg8kV1IdDz01r4SQwMkuCKc", "oa_openid": "oABCDEF123",
           "broadcast_id": "b" + "0" * 20, "code": "123456789012"}
ANONYMOUS_OK = {("POST", "/v1/admin/session")}  # signing in needs no credentials
HOSTILE = '{"card": {"title": "\\ud800"}, "code": 1}'


def _routes(app):
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/v1/admin"):
            continue
        view = app.view_functions[rule.endpoint]
        cls = getattr(view, "view_class", None)
        url = rule.build({k: SAMPLES[k] for k in rule.arguments})[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            handler = getattr(cls, method.lower()) if cls else view
            yield method, url, rule.rule, getattr(handler, ROLES_ATTRIBUTE, None)


@pytest.fixture(autouse=True)
def _many_guesses(settings_overrides):
    settings_overrides["limit_address_failures"] = "10000/minute"


def test_every_admin_route_declares_its_roles(app):
    missing = [(m, r) for m, _, r, roles in _routes(app)
               if roles is None and (m, r) not in ANONYMOUS_OK and "session" not in r]
    assert not missing, missing


def test_every_admin_route_is_401_for_an_anonymous_or_wrong_token(app, client):
    wrong = []
    for method, url, rule, _ in _routes(app):
        if rule == "/v1/admin/session":  # the console's own sign-in/out (unchanged here)
            continue
        for headers in ({}, {"Authorization": "Bearer " + "x" * 43}):
            res = client.open(url, method=method, data=HOSTILE,
                              content_type="application/json", headers=headers)
            if res.status_code != 401:
                wrong.append((method, url, headers != {}, res.status_code))
    assert not wrong, wrong


@pytest.mark.parametrize("role", [r for r in ROLES if r != "admin"])
def test_every_admin_route_refuses_the_roles_it_does_not_allow(story, app, client, role):
    headers = story.operator(f"op-{role}", role)
    wrong, checked = [], 0
    for method, url, _rule, roles in _routes(app):
        if roles is None or role in roles:
            continue
        checked += 1
        res = client.open(url, method=method, data=HOSTILE, content_type="application/json",
                          headers={**headers, "Idempotency-Key": "k-" + method + url})
        if res.status_code != 403:
            wrong.append((method, url, res.status_code))
    assert checked > 5
    assert not wrong, wrong
