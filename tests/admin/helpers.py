"""Operator-side helpers: the admin header, sandbox cards, users taking cards, call counts."""

from __future__ import annotations

import time

from bff.wechat import signing
from tests.story import ADMIN as ADMIN
from tests.story import calls as calls
from tests.story import sim


def new_card(client, **options) -> str:
    return sim(client, "cards", {"card_type": "GENERAL_COUPON", **options})["card_id"]


def deposit_card(client) -> str:
    return new_card(client, card_type="GROUPON", use_custom_code=True, quantity=0,
                    get_custom_code_mode="GET_CUSTOM_CODE_MODE_DEPOSIT")


def take(app, client, card_id: str) -> tuple[dict, str]:
    """A new user takes ``card_id`` (cardExt signed here); returns (user, encrypt_code)."""
    user = sim(client, "users", {})
    with app.app_context():
        ticket = app.extensions["bff"].wechat.credentials.ticket("wx_card")
    ext = signing.card_ext(api_ticket=ticket, card_id=card_id, timestamp=int(time.time()),
                           nonce_str=signing.nonce_str())
    answer = sim(client, "add-card", {"user": user["oa_openid"],
                                      "card_list": [{"cardId": card_id, "cardExt": ext}]})
    [entry] = answer["card_list"]
    assert entry["isSuccess"], entry
    return user, entry["code"]


def decrypt(app, encrypt_code: str) -> str:
    with app.app_context():
        return app.extensions["bff"].wechat.code_decrypt(encrypt_code)["code"]


def fault(client, path: str, **spec) -> None:
    sim(client, "faults", {"path": path, "count": 1, **spec})
