"""Push timing (``/_sim/config``): WeChat pushes late, twice, out of order or not at all."""

from __future__ import annotations

import time

from tests.sandbox.test_push import decrypt, fields
from tests.story import Story


def events(receiver) -> list[dict[str, str]]:
    """The received pushes, decrypted: their fields, in the order they arrived."""
    return [fields(decrypt(fields(p["body"])["Encrypt"])[0]) for p in receiver.received]


def wait(wx) -> None:
    answer = wx.post("/_sim/pushes/wait", json={"timeout_ms": 5000}).get_json()
    assert answer == {"done": True, "pending": 0}, answer


def test_settings_are_checked_and_shown(wx):
    assert wx.put("/_sim/config", json={"push_drop": 4}).status_code == 422
    assert wx.put("/_sim/config", json={"push_delay_ms": -1}).status_code == 422
    assert wx.put("/_sim/config", json={"push_duplicate": "yes"}).status_code == 422
    shown = wx.put("/_sim/config", json={"push_delay_ms": 50, "push_drop": 1,
                                         "push_duplicate": True, "push_reorder": True}).get_json()
    assert (shown["push_delay_ms"], shown["push_drop"], shown["push_duplicate"],
            shown["push_reorder"]) == (50, 1, True, True)


def test_delayed_pushes_arrive_later_in_order(wx, story: Story, receiver):
    wx.put("/_sim/config", json={"push_delay_ms": 400})
    user, card_id = story.user(), story.card()
    started = time.monotonic()
    answer = story.add_card(user, card_id)
    assert answer["pushed"] == [{"event": "user_get_card", "delivered": None, "attempts": 0,
                                 "http_status": None, "scheduled": True}]
    assert answer["card_list"][0]["isSuccess"]
    second = story.add_card(user, card_id)
    assert receiver.received == []  # not yet: the call answered first
    wait(wx)
    assert time.monotonic() - started >= 0.4
    got = events(receiver)
    codes = [story.decrypt(story.token(), a["card_list"][0]["code"])["code"]
             for a in (answer, second)]
    assert [e["UserCardCode"] for e in got] == codes
    pushes = wx.get("/_sim/pushes").get_json()["pushes"]
    assert all(p["delivered"] for p in pushes[:2])


def test_dropped_attempts_are_retried_up_to_three_tries(wx, story: Story, receiver):
    wx.put("/_sim/config", json={"push_drop": 2})
    user, card_id = story.user(), story.card()
    [push] = story.add_card(user, card_id)["pushed"]
    assert push["delivered"] and push["attempts"] == 3
    assert len(receiver.received) == 1
    wx.put("/_sim/config", json={"push_drop": 3})  # WeChat gives up: the push is lost
    [push] = story.add_card(user, card_id)["pushed"]
    assert push == {"event": "user_get_card", "delivered": False, "attempts": 3,
                    "http_status": None}
    assert len(receiver.received) == 1
    recorded = wx.get("/_sim/pushes?limit=1").get_json()["pushes"][0]
    assert recorded["dropped"] == 3 and not recorded["delivered"]


def test_a_dropped_then_delayed_push_comes_after_the_retry_wait(wx, story: Story, receiver):
    wx.put("/_sim/config", json={"push_delay_ms": 100, "push_drop": 1})
    user, card_id = story.user(), story.card()
    started = time.monotonic()
    story.add_card(user, card_id)
    wait(wx)
    assert time.monotonic() - started >= 0.2  # the first try lost, the retry 100 ms later
    assert len(receiver.received) == 1
    assert wx.get("/_sim/pushes?limit=1").get_json()["pushes"][0]["attempts"] == 2


def test_duplicated_pushes_are_the_same_event_twice(wx, story: Story, receiver):
    wx.put("/_sim/config", json={"push_duplicate": True})
    user, card_id = story.user(), story.card()
    story.add_card(user, card_id)
    first, second = events(receiver)
    assert first == second
    assert receiver.received[0]["query"]["nonce"] != receiver.received[1]["query"]["nonce"] \
        or receiver.received[0]["query"]["timestamp"] != receiver.received[1]["query"]["timestamp"]


def test_a_batch_is_delivered_in_reverse(wx, story: Story, receiver):
    wx.put("/_sim/config", json={"push_reorder": True})
    user, card_id = story.user(), story.card()
    cards = [{"cardId": card_id, "cardExt": story.card_ext(card_id, outer_str=f"n{i}")}
             for i in range(3)]
    answer = story.add_card(user, cards)
    assert all(p.get("scheduled") for p in answer["pushed"])
    assert [e["OuterStr"] for e in events(receiver)] == ["n2", "n1", "n0"]


def test_reordered_and_delayed(wx, story: Story, receiver):
    wx.put("/_sim/config", json={"push_reorder": True, "push_delay_ms": 50})
    user, card_id = story.user(), story.card()
    cards = [{"cardId": card_id, "cardExt": story.card_ext(card_id, outer_str=f"n{i}")}
             for i in range(2)]
    story.add_card(user, cards)
    assert receiver.received == []
    wait(wx)
    assert [e["OuterStr"] for e in events(receiver)] == ["n1", "n0"]


def test_standalone_sandbox_pushes_later_over_http(redis_url, sb_config, receiver):
    """The standalone sandbox (its own port) makes delayed pushes over real HTTP."""
    import dataclasses
    import threading

    import requests
    from werkzeug.serving import make_server

    from bff.sandbox import serve_in_thread

    server = make_server("127.0.0.1", 0, receiver, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    config = dataclasses.replace(
        sb_config, event_url=f"http://127.0.0.1:{server.server_port}/wechat/events")
    base, shutdown = serve_in_thread(redis_url, config)
    try:
        with requests.Session() as s:
            s.put(f"{base}/_sim/config", json={"push_delay_ms": 100, "push_duplicate": True},
                  timeout=5)
            story = Story(s, wechat=base, appid=sb_config.oa_appid, secret=sb_config.oa_secret)
            answer = story.add_card(story.user(), story.card())
            assert answer["pushed"][0]["scheduled"] is True
            done = s.post(f"{base}/_sim/pushes/wait", json={}, timeout=15).json()
            assert done == {"done": True, "pending": 0}
    finally:
        shutdown()
        server.shutdown()
    first, second = events(receiver)
    assert first == second and first["Event"] == "user_get_card"
