"""Profile writes are atomic read-modify-writes: concurrent writers keep each other's change."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from bff.domain import profiles
from bff.ground import store


class WriteAfterFirstRead:
    """The connection handed to the code under test: after the first read inside its
    transaction, ``write`` runs on another connection (another process's write lands between
    this one's read and its write). Everything else is the real client."""

    def __init__(self, r: Any, write: Callable[[], None]) -> None:
        self._r, self._write, self.fired = r, write, False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._r, name)

    def transaction(self, func: Callable[[Any], Any], *watches: Any, **kwargs: Any) -> Any:
        outer = self

        class Pipe:
            def __init__(self, pipe: Any) -> None:
                self._pipe = pipe

            def __getattr__(self, name: str) -> Any:
                return getattr(self._pipe, name)

            def get(self, key: Any) -> Any:
                value = self._pipe.get(key)
                if not outer.fired:
                    outer.fired = True
                    outer._write()
                return value

        return self._r.transaction(lambda pipe: func(Pipe(pipe)), *watches, **kwargs)


def test_review_event_between_read_and_write_of_a_put_is_kept(redis_client, redis_url):
    """Another process records WeChat's review verdict while an operator's PUT is mid-way."""
    other = store.connect(redis_url, allow_embedded=False)
    r = WriteAfterFirstRead(redis_client, lambda: profiles.set_review_state(
        other, "pCARD", "rejected", "blurry logo"))
    stored = profiles.put_profile(r, "pCARD", {"self_redeem": True})
    assert r.fired
    assert stored.self_redeem is True and stored.review_state == "rejected"
    fresh = profiles.get_profile(redis_client, "pCARD", fresh=True)
    assert (fresh.self_redeem, fresh.review_state, fresh.review_reason) == (
        True, "rejected", "blurry logo")


def test_concurrent_puts_of_different_fields_all_land(redis_client):
    changes = [{"self_redeem": True}, {"bind_openid": True}, {"init_bonus": 7},
               {"init_balance": 9}, {"init_bonus_record": "welcome"},
               {"background_pic_url": "https://mmbiz.qpic.cn/x"}, {"code_mode": "pool"},
               {"membership_number": {"prefix": "M"}}, {"membership_number": {"width": 6}}]
    start = threading.Barrier(len(changes))

    def put(change):
        start.wait()
        profiles.put_profile(redis_client, "pCARD", change)

    threads = [threading.Thread(target=put, args=(c,)) for c in changes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    p = profiles.get_profile(redis_client, "pCARD", fresh=True)
    assert (p.self_redeem, p.bind_openid, p.init_bonus, p.init_balance) == (True, True, 7, 9)
    assert p.init_bonus_record == "welcome" and p.code_mode == "pool"
    assert p.background_pic_url == "https://mmbiz.qpic.cn/x"
    assert p.membership_number == {"mode": "code", "prefix": "M", "width": 6}
