"""Many clients at once: stock, single-use codes and the stable token stay consistent."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.sandbox.conftest import OA_APPID, OA_SECRET
from tests.story import Story

TOKEN = {"grant_type": "client_credential", "appid": OA_APPID, "secret": OA_SECRET}


def at_once(sandbox_app: Flask, call: Callable[[FlaskClient, Any], Any],
            items: Iterable[Any]) -> list[Any]:
    """``call(client, item)`` for every item, 16 at a time, each with its own client."""
    with ThreadPoolExecutor(16) as pool:
        return list(pool.map(lambda item: call(sandbox_app.test_client(), item), items))


def test_stock_is_never_oversold(sandbox_app: Flask, story: Story):
    card_id = story.card(quantity=20)
    users = [story.user()["oa_openid"] for _ in range(40)]

    def take(client: FlaskClient, user: str) -> bool:
        return Story(client, wechat="").add_card(user, card_id)["card_list"][0]["isSuccess"]

    assert at_once(sandbox_app, take, users).count(True) == 20


def test_one_stable_token_for_concurrent_callers(sandbox_app: Flask, story: Story):
    tokens = at_once(sandbox_app, lambda client, _: client.post(
        "/cgi-bin/stable_token", json=TOKEN).get_json()["access_token"], range(64))
    assert len(set(tokens)) == 1
    assert story.calls("cgi-bin/stable_token") == 64


def test_a_fault_fires_exactly_count_times(sandbox_app: Flask, story: Story):
    story.fault("cgi-bin/token", errcode=45011, count=10)
    codes = at_once(sandbox_app, lambda client, _: client.get(
        "/cgi-bin/token", query_string=TOKEN).get_json()["errcode"], range(40))
    assert codes.count(45011) == 10 and codes.count(0) == 30
