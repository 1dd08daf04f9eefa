"""WeChat's member info is kept a minute, sealed, and forgotten by every change
(``bff.domain.members.info``): a member page opened again costs no call, and never shows what a
change has replaced."""

from __future__ import annotations

from typing import Any

import pytest

from bff.domain.members import info as info_module
from bff.domain.members.info import forget_member_info, wechat_member_info
from bff.edges.events import process_pending
from bff.ground.wechat.errors import WeChatUnavailable
from tests.story import ADMIN, MOBILE, bearer

USERINFO = "card/membercard/userinfo/get"



def info(client, member: dict) -> dict[str, Any]:
    res = client.get(f"/v1/membership/cards/{member['card_id']}", headers=bearer(member["token"]))
    assert res.status_code == 200, res.get_json()
    return res.get_json()


def test_a_member_page_opened_again_asks_wechat_once(story, client, member):
    before = story.calls(USERINFO)
    first = info(client, member)
    assert [info(client, member) for _ in range(3)] == [first] * 3
    assert first["fields"]["mobile"] == MOBILE and first["has_active"] is True
    assert story.calls(USERINFO) - before == 1


def test_the_kept_answer_is_sealed(client, redis_client, member):
    info(client, member)
    kept = redis_client.get(f"bff:member-info:{member['card_id']}:{member['code']}")
    assert kept and MOBILE not in kept and "openid" not in kept
    assert 60 < redis_client.ttl(f"bff:member-info:{member['card_id']}:{member['code']}") <= 75


def test_a_change_through_the_service_is_seen_at_once(client, member):
    assert info(client, member)["bonus"] == 0
    res = client.post(f"/v1/admin/members/{member['card_id']}/{member['code']}/changes",
                      json={"add_bonus": 10}, headers={**ADMIN, "Idempotency-Key": "k1"})
    assert res.status_code == 201, res.get_json()
    assert info(client, member)["bonus"] == 10


def test_a_change_made_elsewhere_is_seen_once_its_push_is_handled(app, client, member):
    assert info(client, member)["balance"] == 0
    with app.app_context():  # the merchant's other system calls WeChat itself
        app.extensions["bff"].wechat.membercard_updateuser(
            {"card_id": member["card_id"], "code": member["code"], "add_balance": 250})
    assert process_pending(app).get("done") == 1  # update_member_card
    assert info(client, member)["balance"] == 250


class Racing:
    """WeChat's answer is read; a change lands (and is forgotten) before the answer is back."""

    def __init__(self, redis_client: Any, bonus: int, change: bool) -> None:
        self.redis, self.bonus, self.change, self.calls = redis_client, bonus, change, 0

    def membercard_userinfo_get(self, card_id: str, code: str) -> dict[str, Any]:
        self.calls += 1
        if self.change:
            forget_member_info(self.redis, card_id, code)
        return {"openid": "oa", "bonus": self.bonus}


def test_an_answer_read_before_a_change_is_not_kept_after_it(app, redis_client):
    settings = app.extensions["bff"].settings
    stale = Racing(redis_client, bonus=1, change=True)
    assert wechat_member_info(redis_client, settings, stale, "c1", "123")["bonus"] == 1
    fresh = Racing(redis_client, bonus=2, change=False)
    assert wechat_member_info(redis_client, settings, fresh, "c1", "123")["bonus"] == 2
    assert fresh.calls == 1  # the stale answer was not kept


class Failing:
    def membercard_userinfo_get(self, card_id: str, code: str) -> dict[str, Any]:
        raise WeChatUnavailable("timeout", "/card/membercard/userinfo/get")


def test_a_failed_call_leaves_no_lease_behind(app, redis_client):
    settings = app.extensions["bff"].settings
    with pytest.raises(WeChatUnavailable):
        wechat_member_info(redis_client, settings, Failing(), "c1", "123")
    assert redis_client.get("bff:member-info:c1:123") is None  # the next request asks at once


def test_a_lease_whose_request_died_is_waited_for_a_moment_only(app, redis_client, monkeypatch):
    settings = app.extensions["bff"].settings
    monkeypatch.setattr(info_module, "WAIT_SECONDS", 0.1)
    redis_client.set("bff:member-info:c1:123", "~ask:0123456789abcdef", ex=60)  # a crashed asker
    fresh = Racing(redis_client, bonus=3, change=False)
    assert wechat_member_info(redis_client, settings, fresh, "c1", "123")["bonus"] == 3
    assert wechat_member_info(redis_client, settings, fresh, "c1", "123")["bonus"] == 3
    assert fresh.calls == 1  # asked once, then kept


def test_after_its_minute_one_request_refreshes_it_and_the_others_are_not_held_up(
        app, redis_client):
    settings = app.extensions["bff"].settings
    first = Racing(redis_client, bonus=1, change=False)
    wechat_member_info(redis_client, settings, first, "c1", "123")
    redis_client.expire("bff:member-info:c1:123", 10)  # its minute is over
    later = Racing(redis_client, bonus=2, change=False)
    answers = [wechat_member_info(redis_client, settings, later, "c1", "123")["bonus"]
               for _ in range(3)]
    assert answers == [2, 2, 2] and later.calls == 1  # one refreshed it, the next read it
    assert redis_client.ttl("bff:member-info:c1:123") > 60


def test_a_refresh_is_not_kept_over_a_change(app, redis_client):
    settings = app.extensions["bff"].settings
    wechat_member_info(redis_client, settings, Racing(redis_client, 1, False), "c1", "123")
    redis_client.expire("bff:member-info:c1:123", 10)
    stale = Racing(redis_client, bonus=1, change=True)  # a change lands while it refreshes
    wechat_member_info(redis_client, settings, stale, "c1", "123")
    fresh = Racing(redis_client, bonus=2, change=False)
    assert wechat_member_info(redis_client, settings, fresh, "c1", "123")["bonus"] == 2
    assert fresh.calls == 1


def test_a_refresh_that_meets_wechat_failing_answers_with_the_kept_answer(app, redis_client):
    settings = app.extensions["bff"].settings
    wechat_member_info(redis_client, settings, Racing(redis_client, 1, False), "c1", "123")
    redis_client.expire("bff:member-info:c1:123", 10)  # in its last 15 s
    assert wechat_member_info(redis_client, settings, Failing(), "c1", "123")["bonus"] == 1
