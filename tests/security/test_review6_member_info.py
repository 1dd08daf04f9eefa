"""Review 6: the member-info cache (``bff.domain.members.info``)."""

from __future__ import annotations

import json
import threading
from typing import Any

from bff.domain.members.info import forget_member_info, wechat_member_info
from bff.ground.store import keys
from tests.story import ADMIN, bearer

USERINFO = "card/membercard/userinfo/get"



def info(client, member: dict):
    return client.get(f"/v1/membership/cards/{member['card_id']}",
                      headers=bearer(member["token"]))


# -- 1. rekey and the forget marker ------------------------------------------------------------

def test_rekey_does_not_call_a_forget_marker_unreadable(app, runner, redis_client):
    """Any change in the last minute (a bonus, an activation, a push) leaves ``~<hex>`` under
    ``bff:member-info:<card_id>:<code>``: ``bff data rekey`` must not fail on it, nor list the
    key (which names a member's code) as a sealed value no key opens."""
    forget_member_info(redis_client, "pMEMBER_card", "100000123")
    res = runner.invoke(args=["data", "rekey"])
    out = json.loads(res.stdout[res.stdout.index("{"):]) if "{" in res.stdout else {}
    assert res.exit_code == 0 and out.get("unreadable") == 0, (res.exit_code, res.output)


# -- 2. a marker that expires before the answer is back ---------------------------------------

class SlowWeChat:
    """The answer is read before a change; the change lands and is forgotten; the answer takes
    longer than CHANGED_SECONDS to come back (BFF_READ_TIMEOUT may be up to 300 s, each call
    2 token rounds x 3 attempts): the marker has expired by then (simulated by its deletion)."""

    def __init__(self, r: Any, bonus: int, change: bool) -> None:
        self.r, self.bonus, self.change, self.calls = r, bonus, change, 0

    def membercard_userinfo_get(self, card_id: str, code: str) -> dict[str, Any]:
        self.calls += 1
        if self.change:
            forget_member_info(self.r, card_id, code)  # the change reached WeChat
            self.r.delete(keys.member_info(card_id, code))  # ... 60 s later, the marker is gone
        return {"openid": "oa", "bonus": self.bonus}


def test_an_answer_read_before_a_change_is_not_kept_once_the_marker_expired(app, redis_client):
    settings = app.extensions["bff"].settings
    stale = SlowWeChat(redis_client, bonus=1, change=True)
    wechat_member_info(redis_client, settings, stale, "c1", "123")
    fresh = SlowWeChat(redis_client, bonus=2, change=False)
    assert wechat_member_info(redis_client, settings, fresh, "c1", "123")["bonus"] == 2, \
        "the answer read before the change was kept (an absent key counts as 'unchanged')"


# -- 3. a change made by the operator's own endpoint that is not forgotten -------------------

def test_a_code_made_unavailable_is_not_shown_as_normal(client, story, member):
    before = info(client, member)
    assert before.status_code == 200 and before.get_json()["user_card_status"] == "NORMAL"
    res = client.post("/v1/admin/codes/unavailable", headers=ADMIN,
                      json={"card_id": member["card_id"], "code": member["code"],
                            "reason": "fraud"})
    assert res.status_code == 200, res.get_json()
    after = info(client, member)
    assert after.status_code != 200 or after.get_json()["user_card_status"] != "NORMAL", \
        "the operator made the code unavailable, the member page still says NORMAL (kept answer)"


# -- 4. many front ends at once ------------------------------------------------------------------

def test_many_front_ends_at_once_cost_the_quota_once(app, client, story, member):
    """The README: 'a member page opened again, or by many front ends at once, costs the
    merchant's quota once'. Concurrent misses each call WeChat (no single flight)."""
    before = story.calls(USERINFO)
    story.fault(USERINFO, latency_ms=400, count=8)
    n = 8
    start = threading.Barrier(n)
    codes: list[int] = []

    def read() -> None:
        c = app.test_client()
        start.wait()
        codes.append(info(c, member).status_code)

    threads = [threading.Thread(target=read) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert codes == [200] * n
    assert story.calls(USERINFO) - before == 1, \
        f"{story.calls(USERINFO) - before} userinfo/get calls for one member page"
