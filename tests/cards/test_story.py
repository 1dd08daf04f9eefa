"""The user's story through the sandbox: login, add-card, decrypt, mine; and the attacks."""

from __future__ import annotations

import json
import logging
from urllib.parse import quote

from bff.ownership import channel_of
from tests.sessions.helpers import (
    ADMIN,
    bearer,
    calls,
    login,
    new_user,
    put_profile,
    sign,
    sim_add_card,
    sim_card,
)


def alice_code_plain(client, encrypt_code: str) -> str:
    """The real code, asked of WeChat directly (as the operator's back office could)."""
    from bff.extensions import services

    with client.application.app_context():
        return services().wechat.code_decrypt(encrypt_code)["code"]


def _receive(client, user, token, card_id, **item):
    res = sign(client, token, {"card_id": card_id, **item})
    assert res.status_code == 200, res.json
    got = sim_add_card(client, user, res.json["card_list"])
    assert got[0]["isSuccess"], got
    return got[0]["code"]  # encrypted, as wx.addCard returns it


def test_new_user_receives_a_card_and_sees_its_real_code(client):
    user = new_user(client)
    token = login(client, user)
    card_id = sim_card(client)
    res = sign(client, token, {"card_id": card_id, "outer_str": "poster-7"})
    assert res.status_code == 200
    [item] = res.json["card_list"]
    assert item["cardId"] == card_id
    ext = json.loads(item["cardExt"])
    assert set(ext) == {"timestamp", "nonce_str", "outer_str", "signature"}
    got = sim_add_card(client, user, res.json["card_list"])
    assert got[0]["isSuccess"] is True
    encrypt_code = got[0]["code"]

    res = client.post("/v1/cards/codes/decrypt", json={"encrypt_code": encrypt_code},
                      headers=bearer(token))
    assert res.status_code == 200, res.json
    body = res.json
    assert body["card_id"] == card_id
    assert body["code"].isdigit() and body["code"] != encrypt_code
    assert body["user_card_status"] == "NORMAL" and body["can_consume"] is True

    mine = client.get("/v1/cards/mine", headers=bearer(token)).json["cards"]
    assert [(c["card_id"], c["code"]) for c in mine] == [(card_id, body["code"])]
    assert mine[0]["received_at"] > 0


def test_another_users_encrypt_code_is_refused(client):
    alice, bob = new_user(client), new_user(client)
    alice_token, bob_token = login(client, alice), login(client, bob)
    card_id = sim_card(client)
    alice_code = _receive(client, alice, alice_token, card_id)
    res = client.post("/v1/cards/codes/decrypt", json={"encrypt_code": alice_code},
                      headers=bearer(bob_token))
    assert res.status_code == 403
    assert set(res.json) == {"code", "status", "message", "request_id"}
    assert client.get("/v1/cards/mine", headers=bearer(bob_token)).json["cards"] == []


def test_encrypt_code_is_normalised_exactly_once(client):
    user = new_user(client)
    token = login(client, user)
    encrypt_code = _receive(client, user, token, sim_card(client))
    plain = client.post("/v1/cards/codes/decrypt", json={"encrypt_code": encrypt_code},
                        headers=bearer(token)).json["code"]
    for variant in (quote(encrypt_code, safe=""), encrypt_code.replace("+", " ")):
        res = client.post("/v1/cards/codes/decrypt", json={"encrypt_code": variant},
                          headers=bearer(token))
        assert res.status_code == 200 and res.json["code"] == plain


def test_tampered_card_ext_is_refused_by_the_sandbox(client):
    user = new_user(client)
    token = login(client, user)
    card_id = sim_card(client)
    card_list = sign(client, token, {"card_id": card_id}).json["card_list"]
    ext = json.loads(card_list[0]["cardExt"])
    for change in ({"timestamp": str(int(ext["timestamp"]) + 1)}, {"nonce_str": "x" * 16},
                   {"signature": "0" * 40}):
        forged = [{"cardId": card_id, "cardExt": json.dumps({**ext, **change})}]
        [got] = sim_add_card(client, user, forged)
        assert got["isSuccess"] is False and got["errcode"] == 40080
    other = sim_card(client)  # a signature for one card does not fit another
    [got] = sim_add_card(client, user, [{"cardId": other, "cardExt": card_list[0]["cardExt"]}])
    assert got["isSuccess"] is False
    [got] = sim_add_card(client, user, card_list)  # the untouched one still works
    assert got["isSuccess"] is True


def test_bind_openid_cards_need_the_oa_openid(client):
    card_id = sim_card(client, bind_openid=True)
    put_profile(client, card_id, bind_openid=True)
    stranger = new_user(client, unionid=False)
    res = sign(client, login(client, stranger), {"card_id": card_id})
    assert res.status_code == 409 and "openid" in res.json["message"]

    user = new_user(client)
    login(client, user, app="h5")  # links the OA openid through the unionid
    token = login(client, user)
    res = sign(client, token, {"card_id": card_id})
    assert res.status_code == 200
    assert json.loads(res.json["card_list"][0]["cardExt"])["openid"] == user["oa_openid"]
    [got] = sim_add_card(client, user, res.json["card_list"])
    assert got["isSuccess"] is True


def test_each_card_gets_its_own_nonce_and_unsigned_extras_pass_through(client):
    token = login(client, new_user(client))
    card_id = sim_card(client)
    res = sign(client, token, {"card_id": card_id, "fixed_begintimestamp": 1700000000},
               {"card_id": card_id, "outer_str": "a" * 100})
    exts = [json.loads(i["cardExt"]) for i in res.json["card_list"]]
    assert exts[0]["nonce_str"] != exts[1]["nonce_str"]
    assert exts[0]["fixed_begintimestamp"] == 1700000000
    # a Mini Program caller's outer_str is its channel, "~" and the cardExt proof
    assert channel_of(exts[0]["outer_str"]) == "" and exts[0]["outer_str"].startswith("~")
    assert channel_of(exts[1]["outer_str"]) == "a" * 100 and "code" not in exts[1]
    assert calls(client).get("cgi-bin/ticket/getticket") == 1


def test_invalid_add_card_input_is_422(client):
    token = login(client, new_user(client))
    card_id = sim_card(client)
    bad = [
        {"cards": []},
        {"cards": [{"card_id": card_id}] * 11},
        {"cards": [{"card_id": card_id, "outer_str": "a" * 129}]},
        {"cards": [{"card_id": card_id, "fixed_begintimestamp": -1}]},
        {"cards": [{"card_id": card_id, "fixed_begintimestamp": "soon"}]},
        {"cards": [{}]},
        {"cards": [{"card_id": "no spaces please"}]},
        {},
    ]
    for body in bad:
        res = client.post("/v1/cards/add-card", json=body, headers=bearer(token))
        assert res.status_code == 422, body
    assert client.post("/v1/cards/add-card", json={"cards": [{"card_id": card_id}]}
                       ).status_code == 401


def test_no_personal_data_in_logs(client, caplog):
    caplog.set_level(logging.DEBUG)
    user = new_user(client)
    token = login(client, user)
    encrypt_code = _receive(client, user, token, sim_card(client))
    code = client.post("/v1/cards/codes/decrypt", json={"encrypt_code": encrypt_code},
                       headers=bearer(token)).json["code"]
    secrets_ = (token, code, encrypt_code, user["oa_openid"], user["mp_openid"], user["unionid"])
    for record in caplog.records:
        if record.name.startswith("bff.sandbox"):
            continue
        text = record.getMessage()
        assert not any(s in text for s in secrets_), text


def test_a_card_wechat_does_not_know_gets_no_card_ext_and_no_profile(client):
    token = login(client, new_user(client))
    res = sign(client, token, {"card_id": "pNoSuchCardAtAll"})
    assert res.status_code == 404 and res.json["errcode"] == 40073
    for method in ("get", "put"):
        got = getattr(client, method)("/v1/admin/cards/pNoSuchCardAtAll/profile",
                                      headers=ADMIN, json={"self_redeem": True})
        assert got.status_code == 404, got.json
    pool = client.post("/v1/admin/cards/pNoSuchCardAtAll/pool", headers=ADMIN,
                       json={"codes": ["A1"]})
    assert pool.status_code == 404
    known = sim_card(client)  # a real card: the check is cached, signing goes through
    assert sign(client, token, {"card_id": known}).status_code == 200
    before = calls(client).get("card/get", 0)
    assert sign(client, token, {"card_id": known}).status_code == 200
    assert calls(client).get("card/get", 0) == before
