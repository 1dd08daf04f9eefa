"""The user's story through the sandbox: login, add-card, decrypt, mine; and the attacks."""

from __future__ import annotations

import json
import logging
from urllib.parse import quote

from bff.domain.ownership import channel_of
from tests.story import ADMIN, bearer


def test_new_user_receives_a_card_and_sees_its_real_code(story, client):
    user = story.user()
    token = story.login(user)
    card_id = story.card()
    res = story.sign(token, {"card_id": card_id, "outer_str": "poster-7"})
    assert res.status_code == 200
    [item] = res.json["card_list"]
    assert item["cardId"] == card_id
    ext = json.loads(item["cardExt"])
    assert set(ext) == {"timestamp", "nonce_str", "outer_str", "signature"}
    got = story.add_card(user, res.json["card_list"])["card_list"]
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


def test_another_users_encrypt_code_is_refused(story, client):
    alice, bob = story.user(), story.user()
    alice_token, bob_token = story.login(alice), story.login(bob)
    card_id = story.card()
    alice_code = story.take(card_id, alice, token=alice_token)[1]
    res = client.post("/v1/cards/codes/decrypt", json={"encrypt_code": alice_code},
                      headers=bearer(bob_token))
    assert res.status_code == 403
    assert set(res.json) == {"code", "status", "message", "request_id"}
    assert client.get("/v1/cards/mine", headers=bearer(bob_token)).json["cards"] == []


def test_encrypt_code_is_normalised_exactly_once(story, client):
    user = story.user()
    token = story.login(user)
    encrypt_code = story.take(story.card(), user, token=token)[1]
    plain = client.post("/v1/cards/codes/decrypt", json={"encrypt_code": encrypt_code},
                        headers=bearer(token)).json["code"]
    for variant in (quote(encrypt_code, safe=""), encrypt_code.replace("+", " ")):
        res = client.post("/v1/cards/codes/decrypt", json={"encrypt_code": variant},
                          headers=bearer(token))
        assert res.status_code == 200 and res.json["code"] == plain


def test_tampered_card_ext_is_refused_by_the_sandbox(story):
    user = story.user()
    token = story.login(user)
    card_id = story.card()
    card_list = story.sign(token, {"card_id": card_id}).json["card_list"]
    ext = json.loads(card_list[0]["cardExt"])
    for change in ({"timestamp": str(int(ext["timestamp"]) + 1)}, {"nonce_str": "x" * 16},
                   {"signature": "0" * 40}):
        forged = [{"cardId": card_id, "cardExt": json.dumps({**ext, **change})}]
        [got] = story.add_card(user, forged)["card_list"]
        assert got["isSuccess"] is False and got["errcode"] == 40080
    other = story.card()  # a signature for one card does not fit another
    [got] = story.add_card(user, other, card_list[0]["cardExt"])["card_list"]
    assert got["isSuccess"] is False
    [got] = story.add_card(user, card_list)["card_list"]  # the untouched one still works
    assert got["isSuccess"] is True


def test_bind_openid_cards_need_the_oa_openid(story):
    card_id = story.card(bind_openid=True)
    story.put_profile(card_id, bind_openid=True)
    stranger = story.user(unionid=False)
    res = story.sign(story.login(stranger), {"card_id": card_id})
    story.assert_error(res, 409, message="openid")

    user = story.user()
    story.login(user, app="h5")  # links the OA openid through the unionid
    token = story.login(user)
    res = story.sign(token, {"card_id": card_id})
    assert res.status_code == 200
    assert json.loads(res.json["card_list"][0]["cardExt"])["openid"] == user["oa_openid"]
    [got] = story.add_card(user, res.json["card_list"])["card_list"]
    assert got["isSuccess"] is True


def test_each_card_gets_its_own_nonce_and_unsigned_extras_pass_through(story):
    token = story.login(story.user())
    card_id = story.card()
    res = story.sign(token, {"card_id": card_id, "fixed_begintimestamp": 1700000000},
                     {"card_id": card_id, "outer_str": "a" * 100})
    exts = [json.loads(i["cardExt"]) for i in res.json["card_list"]]
    assert exts[0]["nonce_str"] != exts[1]["nonce_str"]
    assert exts[0]["fixed_begintimestamp"] == 1700000000
    # a Mini Program caller's outer_str is its channel, "~" and the cardExt proof
    assert channel_of(exts[0]["outer_str"]) == "" and exts[0]["outer_str"].startswith("~")
    assert channel_of(exts[1]["outer_str"]) == "a" * 100 and "code" not in exts[1]
    assert story.calls("cgi-bin/ticket/getticket") == 1


def test_invalid_add_card_input_is_422(story, client):
    token = story.login(story.user())
    card_id = story.card()
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


def test_no_personal_data_in_logs(story, client, caplog):
    caplog.set_level(logging.DEBUG)
    user = story.user()
    token = story.login(user)
    encrypt_code = story.take(story.card(), user, token=token)[1]
    code = client.post("/v1/cards/codes/decrypt", json={"encrypt_code": encrypt_code},
                       headers=bearer(token)).json["code"]
    secrets_ = (token, code, encrypt_code, user["oa_openid"], user["mp_openid"], user["unionid"])
    for record in caplog.records:
        if record.name.startswith("bff.sandbox"):
            continue
        text = record.getMessage()
        assert not any(s in text for s in secrets_), text


def test_a_card_wechat_does_not_know_gets_no_card_ext_and_no_profile(story, client):
    token = story.login(story.user())
    res = story.sign(token, {"card_id": "pNoSuchCardAtAll000000000000"})
    story.assert_error(res, 404, errcode=40073)
    for method in ("get", "put"):
        got = getattr(client, method)("/v1/admin/cards/pNoSuchCardAtAll000000000000/profile",
                                      headers=ADMIN, json={"self_redeem": True})
        assert got.status_code == 404, got.json
    pool = client.post("/v1/admin/cards/pNoSuchCardAtAll000000000000/pool", headers=ADMIN,
                       json={"codes": ["A1"]})
    assert pool.status_code == 404
    known = story.card()  # a real card: the check is cached, signing goes through
    assert story.sign(token, {"card_id": known}).status_code == 200
    before = story.calls("card/get")
    assert story.sign(token, {"card_id": known}).status_code == 200
    assert story.calls("card/get") == before
