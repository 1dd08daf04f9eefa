"""wx.addCard: cardExt verification, issuing codes, encrypted codes, stock and get_limit."""

from __future__ import annotations

import json
import time

import pytest

from bff.sandbox import crypto
from tests.story import Story, card_ext_signature

VECTOR_TICKET = ("sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOc"
                 "HKP7qg")
VECTORS = [
    ("", "", "22dce6bad4db532d4a2ef82ca2ca7bbe1e10ef28"),
    ("random_code", "", "2e9c6d12952246e071717d7baeab20c30420b5cd"),
    ("", "random_openid", "ded860a5dd4467312764bd86e544ad0579cbfad0"),
    ("random_code", "random_openid", "950dc1842852457ea573d4d6af34879c1ec093c8"),
]


@pytest.mark.parametrize(("code", "openid", "signature"), VECTORS)
def test_card_ext_signature_vectors(code: str, openid: str, signature: str):
    values = (VECTOR_TICKET, "1414587457", "random_card_id", code, openid, "Wm3WZYTPz0wzccnW")
    assert card_ext_signature(*values) == signature  # the test's own signer
    assert crypto.sorted_sha1(*values) == signature  # the sandbox's verifier


def only(answer: dict) -> dict:
    assert len(answer["card_list"]) == 1
    return answer["card_list"][0]


def test_signed_card_ext_is_accepted_and_the_code_comes_back_encrypted(story: Story, receiver):
    user, card_id = story.user(), story.card()
    answer = story.add_card(user["mp_openid"], card_id, story.card_ext(card_id, outer_str="shelf"))
    entry = only(answer)
    assert entry["isSuccess"] is True and entry["cardId"] == card_id
    assert "+" in entry["code"]  # real base64 ciphertext
    code = story.decrypt(story.token(), entry["code"])["code"]
    assert len(code) == 12 and code.isdigit()
    got = story.call("/card/code/get", story.token(), {"card_id": card_id, "code": code})
    assert got["openid"] == user["oa_openid"] and got["user_card_status"] == "NORMAL"
    assert got["outer_str"] == "shelf"
    assert answer["pushed"] == [{"event": "user_get_card", "delivered": True, "attempts": 1,
                                 "http_status": 200}]
    assert len(receiver.received) == 1


def test_numeric_timestamp_is_accepted(story: Story):
    user, card_id = story.user(), story.card()
    ts, nonce = int(time.time()), "n1"
    ext = {"timestamp": ts, "nonce_str": nonce,
           "signature": card_ext_signature(story.wx_card_ticket(), str(ts), card_id, nonce)}
    assert only(story.add_card(user["oa_openid"], card_id, json.dumps(ext)))["isSuccess"]


def refused(answer: dict, errcode: int = 40080) -> None:
    entry = only(answer)
    assert entry["isSuccess"] is False and entry["errcode"] == errcode, entry
    assert answer["pushed"] == []


def test_tampered_card_ext_is_refused(story: Story):
    user, card_id = story.user(), story.card()
    ext = json.loads(story.card_ext(card_id))
    ext["timestamp"] = str(int(ext["timestamp"]) + 1)
    refused(story.add_card(user["oa_openid"], card_id, json.dumps(ext)))


def test_wrong_ticket_or_missing_fields_are_refused(story: Story, wx):
    user, card_id = story.user(), story.card()
    token = story.token()
    jsapi = wx.get("/cgi-bin/ticket/getticket",
                   query_string={"access_token": token, "type": "jsapi"}).get_json()["ticket"]
    refused(story.add_card(user["oa_openid"], card_id, story.card_ext(card_id, ticket=jsapi)))
    ext = json.loads(story.card_ext(card_id))
    del ext["nonce_str"]
    refused(story.add_card(user["oa_openid"], card_id, json.dumps(ext)))
    refused(story.add_card(user["oa_openid"], card_id, "not json"))
    refused(story.add_card(user["oa_openid"], card_id, story.card_ext(card_id, nonce="n" * 33)))


def test_outer_str_is_not_signed(story: Story):
    user, card_id = story.user(), story.card()
    ext = json.loads(story.card_ext(card_id))
    ext["outer_str"] = "added after signing"
    ext["fixed_begintimestamp"] = int(time.time())
    assert only(story.add_card(user["oa_openid"], card_id, json.dumps(ext)))["isSuccess"]


def test_nonce_replay_is_refused(story: Story):
    user, card_id = story.user(), story.card()
    ext = story.card_ext(card_id)
    assert only(story.add_card(user["oa_openid"], card_id, ext))["isSuccess"]
    refused(story.add_card(user["oa_openid"], card_id, ext))


def test_stale_timestamp_is_refused(story: Story):
    user, card_id = story.user(), story.card()
    refused(story.add_card(user["oa_openid"], card_id,
                           story.card_ext(card_id, timestamp=int(time.time()) - 3600)))


def test_bind_openid_card_needs_the_users_oa_openid(story: Story):
    alice, bob = story.user(), story.user()
    card_id = story.card(bind_openid=True)
    refused(story.add_card(alice["oa_openid"], card_id, story.card_ext(card_id)), 40003)
    refused(story.add_card(alice["oa_openid"], card_id,
                           story.card_ext(card_id, openid=bob["oa_openid"])), 40003)
    refused(story.add_card(alice["oa_openid"], card_id,
                           story.card_ext(card_id, openid=alice["mp_openid"])), 40003)
    ok = story.add_card(alice["mp_openid"], card_id,
                        story.card_ext(card_id, openid=alice["oa_openid"]))
    assert only(ok)["isSuccess"]


def test_custom_code_card_takes_the_signed_code_once(story: Story):
    alice, bob = story.user(), story.user()
    card_id = story.card(use_custom_code=True)
    refused(story.add_card(alice["oa_openid"], card_id, story.card_ext(card_id)))
    entry = only(story.add_card(alice["oa_openid"], card_id,
                                story.card_ext(card_id, code="MY-CODE-1")))
    assert story.decrypt(story.token(), entry["code"])["code"] == "MY-CODE-1"
    refused(story.add_card(bob["oa_openid"], card_id, story.card_ext(card_id, code="MY-CODE-1")),
            40056)


def test_generated_code_card_refuses_a_code(story: Story):
    user, card_id = story.user(), story.card()
    refused(story.add_card(user["oa_openid"], card_id, story.card_ext(card_id, code="123")))


def test_deposit_mode_card_hands_out_deposited_codes(story: Story):
    user = story.user()
    card_id = story.card(use_custom_code=True, get_custom_code_mode="GET_CUSTOM_CODE_MODE_DEPOSIT")
    token = story.token()
    story.call("/card/code/deposit", token, {"card_id": card_id, "code": ["D1", "D2"]})
    codes = []
    for _ in range(2):
        entry = only(story.add_card(user["oa_openid"], card_id))
        codes.append(story.decrypt(token, entry["code"])["code"])
    assert codes == ["D1", "D2"]
    refused(story.add_card(user["oa_openid"], card_id), 45031)


def test_stock_and_get_limit(story: Story, wx):
    alice, bob = story.user(), story.user()
    card_id = story.card(quantity=2, get_limit=1)
    assert only(story.add_card(alice["oa_openid"], card_id))["isSuccess"]
    refused(story.add_card(alice["oa_openid"], card_id), 45033)
    assert only(story.add_card(bob["oa_openid"], card_id))["isSuccess"]
    refused(story.add_card(story.user()["oa_openid"], card_id), 45031)
    token = story.token()
    assert story.call("/card/modifystock", token,
                      {"card_id": card_id, "increase_stock_value": 1})["errcode"] == 0
    assert only(story.add_card(story.user()["oa_openid"], card_id))["isSuccess"]


def test_unknown_card_and_user(story: Story, wx):
    user = story.user()
    unknown = "p" + "x" * 27
    refused(story.add_card(user["oa_openid"], unknown, story.card_ext(unknown)), 40073)
    answer = wx.post("/_sim/add-card", json={"user": "nobody", "card_list": []})
    assert answer.status_code == 404 and answer.get_json()["code"] == 404
