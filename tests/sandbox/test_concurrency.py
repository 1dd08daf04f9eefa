"""Many clients at once: stock, single-use codes and the stable token stay consistent."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from flask import Flask

from tests.sandbox.conftest import OA_APPID, OA_SECRET, Helpers


def test_stock_is_never_oversold(sandbox_app: Flask, h: Helpers):
    card_id = h.card(quantity=20)
    users = [h.user()["oa_openid"] for _ in range(40)]

    def take(user: str) -> bool:
        helper = Helpers(sandbox_app.test_client())
        return helper.add_card(user, card_id)["card_list"][0]["isSuccess"]

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(take, users))
    assert results.count(True) == 20


def test_one_stable_token_for_concurrent_callers(sandbox_app: Flask):
    body = {"grant_type": "client_credential", "appid": OA_APPID, "secret": OA_SECRET}

    def fetch(_: int) -> str:
        return sandbox_app.test_client().post("/cgi-bin/stable_token",
                                              json=body).get_json()["access_token"]

    with ThreadPoolExecutor(16) as pool:
        tokens = set(pool.map(fetch, range(64)))
    assert len(tokens) == 1
    calls = sandbox_app.test_client().get("/_sim/calls").get_json()
    assert calls["cgi-bin/stable_token"] == 64


def test_a_fault_fires_exactly_count_times(sandbox_app: Flask):
    client = sandbox_app.test_client()
    client.post("/_sim/faults", json={"path": "cgi-bin/token", "errcode": 45011, "count": 10})
    query = {"grant_type": "client_credential", "appid": OA_APPID, "secret": OA_SECRET}

    def fetch(_: int) -> int:
        return sandbox_app.test_client().get("/cgi-bin/token",
                                             query_string=query).get_json()["errcode"]

    with ThreadPoolExecutor(16) as pool:
        codes = list(pool.map(fetch, range(40)))
    assert codes.count(45011) == 10 and codes.count(0) == 30
