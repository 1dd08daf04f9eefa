"""The user's side of the story, through the mounted sandbox: users, logins, cards, add-card."""

from __future__ import annotations

from tests.story import ADMIN, bearer
from tests.story import calls as calls


def new_user(client, *, unionid: bool = True) -> dict:
    res = client.post("/sandbox/_sim/users", json={"unionid": unionid})
    assert res.status_code == 200, res.json
    return res.json


def login_code(client, user: dict, app: str = "miniprogram") -> str:
    res = client.post("/sandbox/_sim/login-codes", json={"user": user["oa_openid"], "app": app})
    assert res.status_code == 200, res.json
    return res.json["code"]


def login(client, user: dict, app: str = "miniprogram") -> str:
    path = "/v1/sessions/miniprogram" if app == "miniprogram" else "/v1/sessions/h5"
    res = client.post(path, json={"code": login_code(client, user, app)})
    assert res.status_code == 201, res.json
    return res.json["token"]


def sim_card(client, **options) -> str:
    res = client.post("/sandbox/_sim/cards", json={"card_type": "GENERAL_COUPON", **options})
    assert res.status_code == 200, res.json
    return res.json["card_id"]


def put_profile(client, card_id: str, **profile) -> dict:
    res = client.put(f"/v1/admin/cards/{card_id}/profile", json=profile, headers=ADMIN)
    assert res.status_code == 200, res.json
    return res.json


def sign(client, token: str, *cards: dict):
    return client.post("/v1/cards/add-card", json={"cards": list(cards)}, headers=bearer(token))


def sim_add_card(client, user: dict, card_list: list[dict], **extra) -> list[dict]:
    res = client.post("/sandbox/_sim/add-card",
                      json={"user": user["oa_openid"], "card_list": card_list, **extra})
    assert res.status_code == 200, res.json
    return res.json["card_list"]
