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
