"""An encrypt_code is asked of WeChat once: its answer, either way, is kept
(``bff.domain.ownership.resolve_code``). The kept answer names a code; it proves nothing about
who owns it."""

from __future__ import annotations

from urllib.parse import quote

from tests.story import bearer


def decrypt(client, token: str, encrypt_code: str):
    return client.post("/v1/cards/codes/decrypt", json={"encrypt_code": encrypt_code},
                       headers=bearer(token))


def test_opening_a_card_again_asks_wechat_once(story, client):
    user = story.user()
    token = story.login(user)
    _, encrypt_code = story.take(story.card(), user, token=token)
    answers = [decrypt(client, token, encrypt_code) for _ in range(3)]
    # the same value as a page URL carries it (percent-encoded) is the same encrypt_code
    answers.append(decrypt(client, token, quote(encrypt_code, safe="")))
    assert [a.status_code for a in answers] == [200] * 4
    assert len({a.get_json()["code"] for a in answers}) == 1
    assert story.calls("card/code/decrypt") == 1


def test_the_same_junk_twice_is_refused_without_a_second_call(story, client):
    token = story.login(story.user())
    junk = "A" * 43 + "="
    for _ in range(3):
        story.assert_error(decrypt(client, token, junk), 404, errcode=40056)
    assert story.calls("card/code/decrypt") == 1


def test_a_kept_answer_does_not_make_another_user_the_owner(story, client):
    owner = story.user()
    owner_token = story.login(owner)
    _, encrypt_code = story.take(story.card(), owner, token=owner_token)
    assert decrypt(client, owner_token, encrypt_code).status_code == 200
    thief = story.login(story.user())
    story.assert_error(decrypt(client, thief, encrypt_code), 403)
    assert story.calls("card/code/decrypt") == 1  # the thief's attempt cost no call either


def _round_trips(monkeypatch) -> list[list[tuple]]:
    """The commands (their arguments) of each round trip of the service's, as sent."""
    from bff.ground.store import coalesce

    trips: list[list[tuple]] = []
    real = coalesce._Coalescer.send

    def recording(self, build, scripts, carried=()):
        carried = list(carried)
        pipe = coalesce._Commands()
        for c in [*carried, coalesce._Call(build, scripts)]:
            c.build(pipe)
        trips.append([args for args, _ in pipe.commands])
        return real(self, build, scripts, carried)

    monkeypatch.setattr(coalesce._Coalescer, "send", recording)
    return trips


def test_a_codes_holding_rides_the_quota_give_back_and_is_kept(story, client, monkeypatch):
    """A first decrypt of a linked user's new code recorded its holding in a round trip of
    its own, and gave the quota's failure charge back in another: the holding (a record of
    what WeChat says, read again from WeChat when missing) now goes with the give-back."""
    sent = _round_trips(monkeypatch)
    user = story.user()
    token = story.login(user)
    card_id = story.card()
    codes: list[str] = []
    for _ in range(2):  # the first links the user's openids
        _, encrypt_code = story.take(card_id, user, token=token)
        sent.clear()
        answer = decrypt(client, token, encrypt_code)
        assert answer.status_code == 200, answer.get_json()
        codes.append(answer.get_json()["code"])
    trips = [[str(args[0]) for args in trip] for trip in sent]
    # ..., the holding's read, then the holding with the give-back (one script for the user's
    # failure counters): one round trip, the last
    assert trips[-1] == ["HSET", "SADD", "SADD", "EVALSHA"], trips
    assert sum("HSET" in t for t in trips) == 1, trips
    mine = client.get("/v1/cards/mine", headers=bearer(token)).get_json()["cards"]
    assert sorted(c["code"] for c in mine) == sorted(codes)  # both holdings kept


def test_a_linking_decrypt_reads_what_contradicts_its_link_once(story, client, monkeypatch):
    """A first decrypt that links the caller's openids read what contradicts the new link twice:
    when the claim was made, then again once it was reserved (``_hold``). The second read alone
    decides (it sees what landed in between), so the first was a round trip for nothing."""
    from bff.domain import identity

    user = story.user()
    token = story.login(user)
    _, encrypt_code = story.take(story.card(), user, token=token)
    sent = _round_trips(monkeypatch)
    answer = decrypt(client, token, encrypt_code)
    assert answer.status_code == 200, answer.get_json()
    assert client.get("/v1/me", headers=bearer(token)).get_json()["official_account_openid"]
    # the link script run dry (``identity.link_conflicts_into``): its last argument is "1"
    dry = [args for trip in sent for args in trip
           if args[:2] == ("EVALSHA", identity._LINK.sha) and args[-1] == "1"]
    assert len(dry) == 1, sent
