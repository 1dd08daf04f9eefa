"""Review 3 (attacker's eye): the request gate and guessing operator tokens.

These tests fail on the code as reviewed; each passes once its finding is fixed
(tests/security/REVIEW3.md).
"""

from __future__ import annotations

import pytest

from bff.edges.http import request_guard

# A body the gate reads and parses in full before it asks who is calling: a lone surrogate,
# or 64+ brackets, sends it through json.loads and a walk of every value.
LONE_SURROGATE = '{"card": {"title": "\\ud800"}}'


@pytest.mark.parametrize("path", [
    "/v1/admin/cards", "/v1/admin/images", "/v1/admin/broadcasts", "/v1/admin/codes/redeem",
    "/v1/cards/add-card",
])
def test_review3_no_credentials_is_401_before_the_body_is_judged(client, path):
    """R3-5a. The gate says authentication runs "before anything about the body is said",
    but it judges hostile JSON first: without any credentials the answer is 400 ("lone
    surrogate") instead of 401."""
    res = client.post(path, data=LONE_SURROGATE, content_type="application/json")
    assert res.status_code == 401, (res.status_code, res.get_json())


def test_review3_an_unauthenticated_request_does_not_make_the_gate_parse_its_body(
        client, monkeypatch):
    """R3-5b. Pre-authentication work: on views with a raised body bound (``/v1/admin/images``
    ~1.1 MB, ``/v1/admin/broadcasts`` 1 MiB) an anonymous POST of ~900 KB of ``[[],[],...]``
    is read, ``json.loads``-ed and walked value by value before the 401: about 0.5 s of CPU
    per anonymous request against well under 1 ms for a plain 401 (measured on the review
    machine), a cheap amplification for a flood. The gate should authenticate first (it needs
    no body) and judge the JSON only for a caller it let in."""
    parsed = []
    real_loads = request_guard.json.loads

    def counting_loads(*args, **kwargs):
        parsed.append(len(args[0]))
        return real_loads(*args, **kwargs)

    monkeypatch.setattr(request_guard.json, "loads", counting_loads)
    body = "[" + ",".join(["[]"] * 300_000) + "]"
    for path in ("/v1/admin/images", "/v1/admin/broadcasts"):
        res = client.post(path, data=body, content_type="application/json")
        assert res.status_code == 401
    assert parsed == [], f"the gate parsed {parsed} bytes of JSON for callers it then refused"


@pytest.fixture
def three_guesses(settings_overrides):
    settings_overrides["limit_address_failures"] = "3/minute"


def test_review3_guessing_bearer_tokens_is_limited_like_guessing_at_sign_in(
        three_guesses, story, client):
    """R3-6. A refused console sign-in spends the address's failure budget (429 after
    ``BFF_LIMIT_ADDRESS_FAILURES``), but the same guess sent as ``Authorization: Bearer`` to
    any ``/v1/admin`` endpoint costs nothing and is never refused for volume: the sign-in
    limit protects nothing, since an attacker guesses on the bearer path instead. Operator
    tokens have 256 bits, so this matters for ``BFF_ADMIN_TOKEN`` (only its length, 32, is
    checked: a human-chosen phrase qualifies) and for the unlimited load of lookups."""
    codes = [client.get("/v1/admin/cards", headers={"Authorization": f"Bearer guess-{i}"}
                        ).status_code for i in range(10)]
    assert 429 in codes, codes
