"""The openid-mapping takeover, replayed exactly as the attacker's review did it.

Mallory and Alice are Mini Program users without a unionid (the case where only the shared card
could link their openids). Alice's encrypt_code reaches Mallory (a card URL's query string, a
screenshot). Holding it must give Mallory nothing: no link, no code, no member form, no
redemption, and Alice keeps everything.
"""

from __future__ import annotations

import json

import pytest

from tests.story import ADMIN, bearer


def decrypt(client, token: str, encrypt_code: str):
    return client.post("/v1/cards/codes/decrypt", json={"encrypt_code": encrypt_code},
                       headers=bearer(token))


def me(client, token: str) -> dict:
    return client.get("/v1/me", headers=bearer(token)).json


def mine(client, token: str) -> list[dict]:
    return client.get("/v1/cards/mine", headers=bearer(token)).json["cards"]


def redeem(client, token: str, card_id: str, encrypt_code: str):
    return client.post("/v1/cards/codes/redeem", headers=bearer(token),
                       json={"card_id": card_id, "encrypt_code": encrypt_code})


@pytest.fixture
def cast(story):
    card_id = story.card()
    story.put_profile(card_id, self_redeem=True)
    alice, mallory = story.user(unionid=False), story.user(unionid=False)
    return card_id, alice, story.login(alice), mallory, story.login(mallory)


def assert_mallory_got_nothing(client, card_id: str, alice: dict, alice_code: str,
                               mallory_token: str) -> None:
    assert decrypt(client, mallory_token, alice_code).status_code == 403
    assert me(client, mallory_token)["official_account_openid"] is None
    assert mine(client, mallory_token) == []
    assert redeem(client, mallory_token, card_id, alice_code).status_code == 403


def assert_alice_keeps_everything(client, card_id: str, alice: dict, alice_code: str,
                                  alice_token: str) -> None:
    res = decrypt(client, alice_token, alice_code)
    assert res.status_code == 200, res.json
    assert me(client, alice_token)["official_account_openid"] == alice["oa_openid"]
    assert me(client, alice_token)["linked_by"] == "card_ext"
    assert [c["code"] for c in mine(client, alice_token)] == [res.json["code"]]
    assert redeem(client, alice_token, card_id, alice_code).status_code == 200


def test_attacker_signs_first_then_decrypts_the_victims_code(story, client, cast):
    card_id, alice, alice_token, mallory, mallory_token = cast
    assert story.sign(mallory_token, {"card_id": card_id}).status_code == 200
    _, alice_code = story.take(card_id, alice, token=alice_token, outer_str="poster")
    assert_mallory_got_nothing(client, card_id, alice, alice_code, mallory_token)
    assert_alice_keeps_everything(client, card_id, alice, alice_code, alice_token)
    # and once Alice is linked, Mallory still gets nothing
    assert_mallory_got_nothing(client, card_id, alice, alice_code, mallory_token)


def test_attacker_signs_after_the_victim_received_it(story, client, cast):
    card_id, alice, alice_token, mallory, mallory_token = cast
    _, alice_code = story.take(card_id, alice, token=alice_token, outer_str="poster")
    assert story.sign(mallory_token, {"card_id": card_id}).status_code == 200
    assert_mallory_got_nothing(client, card_id, alice, alice_code, mallory_token)
    assert_alice_keeps_everything(client, card_id, alice, alice_code, alice_token)


def test_attacker_signs_after_before_the_receipt_push_arrived(story, client, cast):
    """WeChat's user_get_card has not reached the service: the owner is known only from
    /card/code/get. Mallory is refused; Alice hears "retry" (409) until the push arrives."""
    card_id, alice, alice_token, mallory, mallory_token = cast
    before = client.get("/sandbox/_sim/config").json["event_url"]
    assert client.put("/sandbox/_sim/config", json={"event_url": ""}).status_code == 200
    signed = story.sign(alice_token, {"card_id": card_id, "outer_str": "poster"}).json
    [got] = story.add_card(alice, signed["card_list"])["card_list"]
    alice_code, outer_str = got["code"], json.loads(signed["card_list"][0]["cardExt"])["outer_str"]
    assert story.sign(mallory_token, {"card_id": card_id}).status_code == 200
    assert_mallory_got_nothing(client, card_id, alice, alice_code, mallory_token)
    pending = decrypt(client, alice_token, alice_code)
    assert pending.status_code == 409, pending.json
    assert int(pending.headers["Retry-After"]) > 0 and "retry" in pending.json["message"]
    assert me(client, alice_token)["official_account_openid"] is None  # nothing on a guess
    # WeChat's push arrives
    assert client.put("/sandbox/_sim/config", json={"event_url": before}).status_code == 200
    pushed = client.post("/sandbox/_sim/events", json={
        "Event": "user_get_card", "FromUserName": alice["oa_openid"], "CardId": card_id,
        "UserCardCode": story.code_of(alice_code), "IsGiveByFriend": 0, "OuterStr": outer_str,
        "FriendUserName": "", "OldUserCardCode": ""})
    assert pushed.status_code == 200 and pushed.json["delivered"], pushed.json
    assert_alice_keeps_everything(client, card_id, alice, alice_code, alice_token)
    assert_mallory_got_nothing(client, card_id, alice, alice_code, mallory_token)


def test_a_gift_carries_the_givers_proof_but_never_links_the_giver(story, client, cast):
    """Mallory takes a card through her own cardExt, never decrypts it, gives it to Alice and
    obtains Alice's new encrypt_code: its outer_str is Mallory's, yet it links nothing."""
    card_id, alice, alice_token, mallory, mallory_token = cast
    _, mallory_code = story.take(card_id, mallory, token=mallory_token, outer_str="poster")
    gift = client.post(f"/sandbox/_sim/users/{mallory['oa_openid']}/cards/"
                       f"{story.code_of(mallory_code)}/gift", json={"to": alice["oa_openid"]})
    assert gift.status_code == 200, gift.json
    alices = gift.json["encrypt_code"]
    res = decrypt(client, mallory_token, alices)
    assert res.status_code == 403
    assert me(client, mallory_token)["official_account_openid"] is None
    assert mine(client, mallory_token) == []


def test_a_member_form_and_activation_stay_with_their_owner(story, client):
    """Mallory holds Alice's member-card encrypt_code: no member info, no activation."""
    card_id = story.card(card_type="MEMBER_CARD")
    alice, mallory = story.user(unionid=False), story.user(unionid=False)
    alice_token, mallory_token = story.login(alice), story.login(mallory)
    _, alice_code = story.take(card_id, alice, token=alice_token, outer_str="poster")
    assert decrypt(client, alice_token, alice_code).status_code == 200
    assert story.sign(mallory_token, {"card_id": card_id}).status_code == 200
    assert decrypt(client, mallory_token, alice_code).status_code == 403
    got = client.get(f"/v1/membership/cards/{card_id}", headers=bearer(mallory_token))
    assert got.status_code == 404
    act = client.post("/v1/membership/activate", headers=bearer(mallory_token), json={
        "activate_ticket": "whatever", "card_id": card_id, "encrypt_code": alice_code})
    assert act.status_code == 403


def test_an_operator_removes_a_wrong_link_and_every_session_sees_it(story, client, cast, caplog):
    card_id, alice, alice_token, mallory, mallory_token = cast
    _, alice_code = story.take(card_id, alice, token=alice_token, outer_str="poster")
    assert decrypt(client, alice_token, alice_code).status_code == 200
    shown = client.get("/v1/admin/identities", headers=ADMIN,
                       query_string={"oa_openid": alice["oa_openid"]})
    assert shown.json["miniprogram_openid"] == alice["mp_openid"]
    assert client.delete("/v1/admin/identities", query_string={
        "oa_openid": alice["oa_openid"]}).status_code == 401
    with caplog.at_level("INFO"):
        gone = client.delete("/v1/admin/identities", headers=ADMIN,
                             query_string={"mp_openid": alice["mp_openid"]})
    assert gone.status_code == 204
    assert not any(alice[k] in caplog.text for k in ("mp_openid", "oa_openid"))
    assert me(client, alice_token)["official_account_openid"] is None  # the live session too
    assert mine(client, alice_token) == []
    again = client.delete("/v1/admin/identities", headers=ADMIN,
                          query_string={"mp_openid": alice["mp_openid"]})
    assert again.status_code == 404
    both = client.delete("/v1/admin/identities", headers=ADMIN, query_string={
        "mp_openid": alice["mp_openid"], "oa_openid": alice["oa_openid"]})
    assert both.status_code == 404  # they no longer belong to one identity
    assert client.delete("/v1/admin/identities", headers=ADMIN).status_code == 404
    # a removed link is not made again from the same kind of proof (WeChat's unionid still can)
    assert decrypt(client, alice_token, alice_code).status_code == 403
    assert me(client, alice_token)["official_account_openid"] is None


def test_both_openids_of_one_identity_remove_the_official_account_link(story, client, cast):
    card_id, alice, alice_token, mallory, _ = cast
    _, alice_code = story.take(card_id, alice, token=alice_token, outer_str="poster")
    assert decrypt(client, alice_token, alice_code).status_code == 200
    other = client.delete("/v1/admin/identities", headers=ADMIN, query_string={
        "mp_openid": mallory["mp_openid"], "oa_openid": alice["oa_openid"]})
    assert other.status_code == 404
    both = client.delete("/v1/admin/identities", headers=ADMIN, query_string={
        "mp_openid": alice["mp_openid"], "oa_openid": alice["oa_openid"]})
    assert both.status_code == 204
    assert me(client, alice_token)["official_account_openid"] is None
    assert client.get("/v1/admin/identities", headers=ADMIN, query_string={
        "oa_openid": alice["oa_openid"]}).status_code == 404


class _Caller:
    def __init__(self, mp: str) -> None:
        self.mp_openid, self.unionid, self.oa_openid = mp, None, None


def test_a_proof_counts_only_soon_after_its_signature_and_for_one_receiver(app, redis_client):
    from bff.domain.ownership import (
        CodeFacts,
        card_ext_outer_str,
        check_owner,
        proof_keys,
        settle,
        settling,
    )
    from bff.ground.errors import Forbidden

    keys_ = proof_keys(app.extensions["bff"].settings)
    signed = 1_800_000_000
    outer = card_ext_outer_str(keys_[0], "mMALLORY", "pCARD", "x", now=signed)

    def facts(owner: str, code: str, received_at: int) -> CodeFacts:
        return CodeFacts(card_id="pCARD", code=code, oa_openid=owner, status="NORMAL",
                         can_consume=True, outer_str=outer, receipt="push",
                         received_at=received_at)

    def claim(owner: str, code: str, received_at: int, *, encrypted: bool = True,
              now: int = signed + 10):
        return check_owner(redis_client, None, _Caller("mMALLORY"),
                           facts(owner, code, received_at), proof_keys=keys_,
                           encrypted=encrypted, now=now)

    with pytest.raises(Forbidden):  # a cardExt used an hour after it was signed
        claim("oALICE", "1", signed + 3600)
    with pytest.raises(Forbidden):  # the plain code, not WeChat's encrypt_code: no
        claim("oMALLORY", "2", signed + 5, encrypted=False)
    with pytest.raises(Forbidden):  # the first link asked for long after the signature: no
        claim("oMALLORY", "2", signed + 5, now=signed + 7200)
    assert list(redis_client.scan_iter("bff:{id}:*")) == []  # the refusals wrote nothing
    settle(redis_client, _Caller("mMALLORY"), claim("oMALLORY", "2", signed + 5),
           record=False)  # in time, encrypted, settled: linked
    assert list(redis_client.scan_iter("bff:{id}:*"))
    redis_client.delete(*list(redis_client.scan_iter("bff:{id}:*")))
    # the same proof on another receiver's code: no (read once the link is reserved, as every
    # caller of check_owner settles through settling)
    with pytest.raises(Forbidden), settling(redis_client, _Caller("mMALLORY"),
                                            claim("oALICE", "3", signed + 6)):
        pass


def test_a_caller_without_a_mini_program_openid_is_still_refused_a_contradicted_link(
        redis_client):
    """``settling`` reserves a new link under the caller's Mini Program openid; a caller with
    none (no such session today, but ``Caller`` allows it) has nothing to reserve it under,
    and what contradicts the link is still read and refuses it, writing nothing."""
    from bff.domain.identity import link_openids
    from bff.domain.ownership import CodeFacts, check_owner, settling
    from bff.ground.errors import Forbidden

    link_openids(redis_client, source="user_info", unionid="uSAME", oa_openid="oOTHER")
    before = sorted(redis_client.scan_iter("*"))
    caller = _Caller("")
    caller.mp_openid, caller.unionid = None, "uSAME"
    facts = CodeFacts(card_id="pCARD", code="1", oa_openid="oOWNER", status="NORMAL",
                      can_consume=True, owner_unionid="uSAME")
    claim = check_owner(redis_client, None, caller, facts, proof_keys=())
    assert claim.link_source == "event_unionid"
    with pytest.raises(Forbidden), settling(redis_client, caller, claim):
        pass
    assert sorted(redis_client.scan_iter("*")) == before
