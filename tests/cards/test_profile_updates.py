"""Profile writes are atomic read-modify-writes: concurrent writers keep each other's change."""

from __future__ import annotations

import threading

from bff import profiles, store


def test_review_event_between_read_and_write_of_a_put_is_kept(redis_client, redis_url,
                                                             monkeypatch):
    """Another process records WeChat's review verdict while an operator's PUT is mid-way."""
    other = store.connect(redis_url, allow_embedded=False)
    real_parse = profiles._parse
    interleaved = []

    def parse_then_interleave(card_id, raw):
        parsed = real_parse(card_id, raw)
        if not interleaved:
            interleaved.append(True)
            monkeypatch.setattr(profiles, "_parse", real_parse)
            profiles.set_review_state(other, card_id, "rejected", "blurry logo")
        return parsed

    monkeypatch.setattr(profiles, "_parse", parse_then_interleave)
    stored = profiles.put_profile(redis_client, "pCARD", {"self_redeem": True})
    assert interleaved
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
