"""A caller without a session gets 401 before anything about the request body."""

from __future__ import annotations

import pytest

ENDPOINTS = [
    ("POST", "/v1/cards/add-card"),
    ("POST", "/v1/cards/choose-card"),
    ("POST", "/v1/jssdk/config"),
    ("POST", "/v1/cards/codes/decrypt"),
    ("POST", "/v1/cards/codes/redeem"),
    ("POST", "/v1/membership/activation-plugin"),
    ("POST", "/v1/membership/activate"),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
@pytest.mark.parametrize("auth", [None, "Bearer forged-token", "Basic abc"])
def test_401_comes_before_body_validation(client, method, path, auth):
    headers = {"Authorization": auth} if auth else {}
    res = client.open(path, method=method, json={"unexpected": [1, 2, 3]}, headers=headers)
    assert res.status_code == 401, res.get_data(as_text=True)
    assert "errors" not in res.get_json()


def test_public_endpoints_stay_public(client):
    assert client.get("/v1/capabilities?ua=MicroMessenger/7.0.0").status_code == 200
    assert client.post("/v1/sessions/miniprogram", json={}).status_code == 422
