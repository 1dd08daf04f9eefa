"""A first decrypt links the caller by the unionid WeChat's receipt push gave for the code's
owner (``user_get_card``'s UnionId), with no ``/cgi-bin/user/info`` call of the merchant's
quota; a unionid a push gave for an earlier holder of the code is not the current holder's."""

from __future__ import annotations

from bff.ground.store import keys
from tests.story import bearer


def decrypt(client, token: str, encrypt_code: str):
    return client.post("/v1/cards/codes/decrypt", json={"encrypt_code": encrypt_code},
                       headers=bearer(token))


def test_a_first_decrypt_links_by_the_unionid_of_the_receipt_push(story, client):
    card_id = story.card()
    alice = story.user()
    token = story.login(alice)
    asked = story.calls("cgi-bin/user/info")
    _, encrypt_code = story.take(card_id, alice, token=token)
    answer = decrypt(client, token, encrypt_code)
    assert answer.status_code == 200, answer.json
    me = client.get("/v1/me", headers=bearer(token)).json
    assert me["official_account_openid"] == alice["oa_openid"]
    assert me["linked_by"] == "event_unionid"
    assert story.calls("cgi-bin/user/info") == asked  # WeChat was not asked again


def test_a_unionid_pushed_for_an_earlier_holder_is_not_the_current_holders(story, client,
                                                                           redis_client):
    """Bob holds the code now; the holding still carries the unionid a push gave for Alice
    (the code moved on without a push that carried one). Alice, holding Bob's encrypt_code,
    gets neither the code nor a link to Bob."""
    card_id = story.card()
    alice, bob = story.user(), story.user()
    _, bob_code = story.take(card_id, bob)
    real = story.code_of(bob_code)
    redis_client.hset(keys.holding(real), "receiver_unionid",
                      f"{alice['oa_openid']} {alice['unionid']}")
    alice_token = story.login(alice)
    assert decrypt(client, alice_token, bob_code).status_code == 403
    assert client.get("/v1/me", headers=bearer(alice_token)).json[
        "official_account_openid"] is None
