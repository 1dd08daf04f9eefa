"""A cardExt proof outside its cardExt makes no link (issue 16 §1), and removals reach every
session (§2), replayed as the second attack review did it.

Mallory, a Mini Program user without a unionid, asks add-card for a card and copies the
``outer_str`` (channel, ``~``, her proof) out of the answer. WeChat does not sign
``outer_str``, so she puts it into a channel where anyone's card can carry it: the member
card's activation link, a QR code, a landing page. Alice takes the card there; WeChat pushes
``user_get_card`` (not a gift) with Mallory's proof. Mallory then names Alice's code in every
call that checks ownership. She must get nothing, leave nothing behind, and Alice keeps
everything.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from bff.domain.identity import find_identity, link_openids
from bff.domain.ownership import PROOF_CLAIM_WINDOW
from tests.story import ADMIN, MOBILE, bearer


def outer_str_of(signed: Any) -> str:
    """The outer_str in the one cardExt of an add-card answer."""
    [entry] = signed.get_json()["card_list"]
    return json.loads(entry["cardExt"])["outer_str"]


def attacker_state(redis_client, mp_openid: str) -> list[str]:
    """Every key of the service that names the attacker's Mini Program openid (links,
    holdings, sessions are stored by token hash)."""
    return [k for k in redis_client.scan_iter("bff:*", count=1000) if mp_openid in k]


@pytest.fixture
def cast(story, client):
    coupon, member = story.card(), story.member_card()
    story.put_profile(coupon, self_redeem=True)
    alice, mallory = story.user(unionid=False), story.user(unionid=False)
    mallory_token = story.login(mallory)
    proofs = {card: outer_str_of(story.sign(mallory_token, {"card_id": card,
                                                             "outer_str": "guide"}))
              for card in (coupon, member)}
    return {"coupon": coupon, "member": member, "alice": alice, "mallory": mallory,
            "mallory_token": mallory_token, "proofs": proofs}


def alice_takes_both_through_shared_links(story, client, cast) -> dict[str, Any]:
    """Alice opens Mallory's activation link (the member card) and a landing page or QR code
    (the coupon, a cardExt signed by the merchant's own page); both carry Mallory's proof."""
    alice = cast["alice"]
    plugin = story.plugin(story.login(alice), cast["member"]).get_json()["extraData"]
    returned = story.fill_form(alice, {**plugin, "outer_str": cast["proofs"][cast["member"]]})
    ext = story.card_ext(cast["coupon"], outer_str=cast["proofs"][cast["coupon"]])
    [taken] = story.add_card(alice, [{"cardId": cast["coupon"], "cardExt": ext}])["card_list"]
    assert taken["isSuccess"], taken
    return {"member": returned, "coupon_encrypt_code": taken["code"],
            "coupon_code": story.code_of(taken["code"])}


def assert_mallory_has_nothing(story, client, redis_client, cast) -> None:
    token = cast["mallory_token"]
    me = client.get("/v1/me", headers=bearer(token)).get_json()
    assert me["official_account_openid"] is None and me["linked_by"] is None
    assert client.get("/v1/cards/mine", headers=bearer(token)).get_json()["cards"] == []
    info = client.get(f"/v1/membership/cards/{cast['member']}", headers=bearer(token))
    assert info.status_code == 404 and MOBILE not in info.get_data(as_text=True)
    assert find_identity(redis_client, mp_openid=cast["mallory"]["mp_openid"]) is None
    assert attacker_state(redis_client, cast["mallory"]["mp_openid"]) == []


def test_a_proof_in_a_shared_link_links_nobody(story, client, redis_client, cast):
    alice = cast["alice"]
    got = alice_takes_both_through_shared_links(story, client, cast)
    token = cast["mallory_token"]
    member_code = got["member"]["code"]
    # The reproduction: activate names Alice's member code. Refused, and nothing left behind.
    story.assert_error(story.activate(token, got["member"]), 403)
    story.assert_error(story.activate(token, got["member"], activate_ticket="forged"), 403)
    assert_mallory_has_nothing(story, client, redis_client, cast)
    # Every other call that checks ownership, with the plain codes.
    story.assert_error(story.redeem(token, card_id=cast["coupon"], code=got["coupon_code"]), 403)
    story.assert_error(story.redeem(token, card_id=cast["member"], code=member_code), 403)
    assert_mallory_has_nothing(story, client, redis_client, cast)
    # Alice keeps everything: her card, her activation, her member data, her redemption.
    alice_token = story.login(alice, app="h5")
    mine = client.get("/v1/cards/mine", headers=bearer(alice_token)).get_json()["cards"]
    assert {c["code"] for c in mine} >= {member_code, got["coupon_code"]}
    activated = story.activate(alice_token, got["member"])
    assert activated.status_code == 200, activated.get_json()
    info = client.get(f"/v1/membership/cards/{cast['member']}", headers=bearer(alice_token))
    assert info.status_code == 200 and info.get_json()["fields"], info.get_json()
    redeemed = story.redeem(alice_token, card_id=cast["coupon"], code=got["coupon_code"])
    assert redeemed.status_code == 200, redeemed.get_json()
    assert_mallory_has_nothing(story, client, redis_client, cast)


def test_a_leaked_encrypt_code_after_the_claim_window_proves_nothing(
        story, client, redis_client, cast, monkeypatch):
    """Mallory also gets Alice's encrypt_code (a URL, a screenshot), later than a front-end
    decrypting what its own wx.addCard handed back ever would."""
    got = alice_takes_both_through_shared_links(story, client, cast)
    later = time.time() + PROOF_CLAIM_WINDOW + 60
    monkeypatch.setattr("bff.domain.ownership.time.time", lambda: later)
    token = cast["mallory_token"]
    answer = client.post("/v1/cards/codes/decrypt", headers=bearer(token),
                         json={"encrypt_code": got["coupon_encrypt_code"]})
    story.assert_error(answer, 403)
    story.assert_error(story.redeem(token, card_id=cast["coupon"],
                                    encrypt_code=got["coupon_encrypt_code"]), 403)
    story.assert_error(story.activate(token, got["member"], code=None,
                                      encrypt_code=got["member"]["encrypt_code"]), 403)
    monkeypatch.undo()
    assert_mallory_has_nothing(story, client, redis_client, cast)


def test_the_plain_code_of_ones_own_card_does_not_link_but_its_encrypt_code_does(story, client):
    """The honest path: the proof links when the user shows the encrypt_code WeChat handed
    back to their own wx.addCard; naming the plain code (which leaks) never links."""
    card_id = story.card()
    story.put_profile(card_id, self_redeem=True)
    bob = story.user(unionid=False)
    token = story.login(bob)
    _, encrypt_code = story.take(card_id, bob, token=token)
    code = story.code_of(encrypt_code)
    story.assert_error(story.redeem(token, card_id=card_id, code=code), 403)
    assert client.get("/v1/me", headers=bearer(token)).get_json()["linked_by"] is None
    assert story.my_code(token, encrypt_code) == code
    assert client.get("/v1/me", headers=bearer(token)).get_json()["linked_by"] == "card_ext"
    assert story.redeem(token, card_id=card_id, code=code).status_code == 200


def test_a_refused_activation_links_nothing(story, client, redis_client):
    """Even for the card's true owner: the link waits for the activation to succeed."""
    carol = story.user(unionid=False)
    token = story.login(carol)
    card_id = story.member_card()
    _, encrypt_code = story.take(card_id, carol, token=token)
    extra = story.plugin(token, card_id).get_json()["extraData"]
    returned = story.fill_form(carol, extra)
    refused = story.activate(token, returned, code=None, encrypt_code=encrypt_code,
                             activate_ticket="not-a-ticket")
    assert refused.status_code == 422, refused.get_json()
    assert find_identity(redis_client, mp_openid=carol["mp_openid"]) is None
    done = story.activate(token, returned, code=None, encrypt_code=encrypt_code)
    assert done.status_code == 200, done.get_json()
    assert find_identity(redis_client, mp_openid=carol["mp_openid"]).linked_by == "card_ext"


# -- §2: a removal reaches every session ---------------------------------------------------------

@pytest.mark.parametrize("session_cache", [False, True], ids=["no-cache", "session-cache"])
def test_removing_a_link_reaches_sessions_opened_before_and_after_it(
        story, redis_url, redis_client, session_cache):
    from bff import create_app
    from tests.conftest import MODE

    if session_cache and MODE == "cluster":
        pytest.skip("the session cache is off on a cluster client (README)")
    apps = [create_app({"sandbox": True, "redis_url": redis_url,
                        "session_cache": session_cache}) for _ in range(2)]
    try:
        a, b = (x.test_client() for x in apps)
        dave = story.user(unionid=False)
        card_id = story.card()
        before = story.login(dave)
        story.take_and_open(card_id, dave)  # linked by the cardExt proof
        after_mp = story.login(dave)
        after_h5 = story.login(dave, app="h5")
        sessions = (before, after_mp)
        for token in sessions:
            for c in (a, b):  # both instances (and their caches) serve the session
                assert c.get("/v1/me", headers=bearer(token)).get_json()[
                    "official_account_openid"] == dave["oa_openid"]
                assert c.get("/v1/cards/mine", headers=bearer(token)).get_json()["cards"]
        gone = a.delete("/v1/admin/identities", headers=ADMIN,
                        query_string={"mp_openid": dave["mp_openid"]})
        assert gone.status_code == 204
        for token in sessions:
            for c in (b, a):
                me = c.get("/v1/me", headers=bearer(token)).get_json()
                assert me["official_account_openid"] is None, me
                assert c.get("/v1/cards/mine", headers=bearer(token)).get_json()["cards"] == []
        # The H5 session is the OA user by web authorization: it keeps its own cards, and no
        # longer names the Mini Program openid.
        me = b.get("/v1/me", headers=bearer(after_h5)).get_json()
        assert me["official_account_openid"] == dave["oa_openid"]
        assert me["miniprogram_openid"] is None
    finally:
        for x in apps:
            cache = x.extensions["bff"].extras.get("session_cache")
            if cache is not None:
                cache.close()


def test_a_session_record_holds_only_what_its_login_proved(story, redis_client):
    erin = story.user(unionid=False)
    link_openids(redis_client, source="card_ext", mp_openid=erin["mp_openid"],
                 oa_openid=erin["oa_openid"])
    story.login(erin)
    story.login(erin, app="h5")
    records = [redis_client.hgetall(k) for k in redis_client.scan_iter("bff:session:*")]
    assert sorted((r["mp"], r["oa"]) for r in records) == sorted(
        [(erin["mp_openid"], ""), ("", erin["oa_openid"])])


def forge(encrypt_code: str, own_code: str, other_code: str) -> str:
    """CBC's malleability: whoever holds one encrypt_code and its code turns the IV into another
    code's (the second review's forgery: IV' = IV xor pad(own) xor pad(other))."""
    import base64

    def pad(text: str) -> bytes:
        data = text.encode()
        n = 16 - len(data) % 16
        return (data + bytes([n]) * n)[:16]

    raw = bytearray(base64.b64decode(encrypt_code))
    for i, (a, b) in enumerate(zip(pad(own_code), pad(other_code), strict=True)):
        raw[i] ^= a ^ b
    return base64.b64encode(bytes(raw)).decode()


def test_an_encrypt_code_forged_from_ones_own_proves_nothing(story, client, redis_client, cast):
    """WeChat's encrypt_code cannot be made for a chosen code without the account's key; the
    sandbox's carries a tag, so the forgery names no code at all."""
    got = alice_takes_both_through_shared_links(story, client, cast)
    mallory, token = cast["mallory"], cast["mallory_token"]
    other = story.card()
    _, own_encrypted = story.take(other, mallory, signed_by="ticket")
    own_code = story.code_of(own_encrypted)
    for target in (got["coupon_code"], got["member"]["code"]):
        forged = forge(own_encrypted, own_code, target)
        answer = client.post("/v1/cards/codes/decrypt", headers=bearer(token),
                             json={"encrypt_code": forged})
        story.assert_error(answer, 404)
    assert_mallory_has_nothing(story, client, redis_client, cast)


def test_two_receivers_codes_claimed_at_once_act_once(story, client, redis_client):
    """The second review's race: one attacker, two proofs, two receivers (whose encrypt_codes
    he somehow holds), two redemptions sent together. The first to reserve the link acts; the
    other is refused before its consume, not merely left unlinked."""
    import threading

    card_id = story.card()
    story.put_profile(card_id, self_redeem=True)
    mallory = story.user(unionid=False)
    token = story.login(mallory)
    victims = []
    for _ in range(2):
        outer = outer_str_of(story.sign(token, {"card_id": card_id}))
        victim = story.user(unionid=False)
        ext = story.card_ext(card_id, outer_str=outer)
        [taken] = story.add_card(victim, [{"cardId": card_id, "cardExt": ext}])["card_list"]
        victims.append(taken["code"])
    story.fault("/card/code/consume", latency_ms=600, count=2)
    before = story.calls("/card/code/consume")
    answers: list[int] = []
    start = threading.Barrier(2)

    def redeem(encrypt_code: str) -> None:
        c = story.app.test_client()
        start.wait()
        answers.append(c.post("/v1/cards/codes/redeem", headers=bearer(token), json={
            "card_id": card_id, "encrypt_code": encrypt_code}).status_code)

    threads = [threading.Thread(target=redeem, args=(e,)) for e in victims]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(answers) == [200, 403]
    assert story.calls("/card/code/consume") - before == 1
    assert redis_client.get(f"bff:{{id}}:pending:{mallory['mp_openid']}") is None
