"""CORS: an exact allow-list of H5 origins (BFF_CORS_ORIGINS), no wildcards, no credentials."""

from __future__ import annotations

import pytest

from bff.ground.config import ConfigError, load_settings
from tests.test_factory import PRODUCTION_ENV

ALLOWED = "https://h5.merchant.example"
OTHER = "https://evil.example"


@pytest.fixture
def settings_overrides(redis_url: str) -> dict:
    return {"sandbox": True, "redis_url": redis_url,
            "cors_origins": (ALLOWED, "http://localhost:5173")}


def preflight(client, path: str, origin: str, method: str = "POST"):
    return client.options(path, headers={
        "Origin": origin, "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "authorization, content-type",
    })


def test_an_allowed_origin_passes_the_preflight(client) -> None:
    answer = preflight(client, "/v1/cards/add-card", ALLOWED)
    assert answer.status_code == 200
    assert answer.headers["Access-Control-Allow-Origin"] == ALLOWED
    allowed = answer.headers["Access-Control-Allow-Headers"].lower()
    assert "authorization" in allowed and "content-type" in allowed
    assert "POST" in answer.headers["Access-Control-Allow-Methods"]
    assert "Access-Control-Allow-Credentials" not in answer.headers
    assert "Origin" in answer.headers.get("Vary", "")


def test_an_allowed_origin_gets_the_headers_on_the_answer_and_errors(client) -> None:
    ok = client.get("/v1/capabilities", headers={"Origin": ALLOWED})
    assert ok.headers["Access-Control-Allow-Origin"] == ALLOWED
    exposed = ok.headers["Access-Control-Expose-Headers"].lower()
    assert "retry-after" in exposed and "x-request-id" in exposed
    refused = client.get("/v1/cards/mine", headers={"Origin": ALLOWED})
    assert refused.status_code == 401
    assert refused.headers["Access-Control-Allow-Origin"] == ALLOWED  # the page can read why
    assert "Access-Control-Allow-Credentials" not in ok.headers


@pytest.mark.parametrize("origin", [
    OTHER, "https://h5.merchant.example.evil.example", "http://h5.merchant.example",
    "https://h5.merchant.example:8443", "null", "https://sub.h5.merchant.example",
])
def test_any_other_origin_gets_no_cors_headers(client, origin: str) -> None:
    for answer in (preflight(client, "/v1/cards/add-card", origin),
                   client.get("/v1/capabilities", headers={"Origin": origin})):
        assert not [h for h in answer.headers.keys() if h.lower().startswith("access-control-")]


def test_the_mounted_sandbox_answers_cors_for_the_same_origins(client) -> None:
    answer = preflight(client, "/sandbox/_sim/add-card", "http://localhost:5173")
    assert answer.headers["Access-Control-Allow-Origin"] == "http://localhost:5173"
    created = client.post("/sandbox/_sim/users", json={}, headers={"Origin": ALLOWED})
    assert created.headers["Access-Control-Allow-Origin"] == ALLOWED
    other = client.post("/sandbox/_sim/users", json={}, headers={"Origin": OTHER})
    assert "Access-Control-Allow-Origin" not in other.headers


def test_a_preflight_is_not_counted_as_a_call_to_wechat(client) -> None:
    preflight(client, "/sandbox/card/code/decrypt", ALLOWED)
    assert "card/code/decrypt" not in client.get("/sandbox/_sim/calls").get_json()


def test_without_the_setting_there_is_no_cors(redis_url: str) -> None:
    from bff import create_app

    client = create_app({"sandbox": True, "redis_url": redis_url}).test_client()
    answer = client.get("/v1/capabilities", headers={"Origin": ALLOWED})
    assert "Access-Control-Allow-Origin" not in answer.headers


def test_origins_are_normalised_as_browsers_send_them() -> None:
    env = {**PRODUCTION_ENV,
           "BFF_CORS_ORIGINS": " https://A.example:443/ , http://localhost:8080,https://a.example"}
    assert load_settings(env).cors_origins == ("https://a.example", "http://localhost:8080")


@pytest.mark.parametrize("value", [
    "*", "https://*.merchant.example", "merchant.example", "https://merchant.example/path",
    "https://merchant.example?x=1", "ftp://merchant.example", "https://user@merchant.example",
    "https://merchant.example:99999", "null", "https://", "https://merchant.example#top",
])
def test_wildcards_and_non_origins_stop_the_start(value: str) -> None:
    with pytest.raises(ConfigError, match="BFF_CORS_ORIGINS"):
        load_settings({**PRODUCTION_ENV, "BFF_CORS_ORIGINS": value})
