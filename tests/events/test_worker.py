"""The worker: reclaiming a crashed consumer's entries, idempotent handling, dead letters."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bff.domain.events import handlers
from bff.domain.events.stream import GROUP, ensure_group
from bff.domain.events.worker import process_stream_entry
from bff.domain.members.members import get_member
from bff.edges.events import process_pending
from bff.ground.store import keys
from tests.events.helpers import card_event, push
from tests.story import ADMIN

ROOT = Path(__file__).resolve().parents[2]


def received(redis_client, card_id: str) -> int:
    total = 0
    for key in redis_client.scan_iter(match=keys.channel_stats(card_id, "*")):
        total += sum(int(v) for f, v in redis_client.hgetall(key).items()
                     if f.startswith("received|"))
    return total


def push_gets(client, n: int, card_id: str = "pW", *, with_unionid: bool = True) -> None:
    for i in range(n):
        extra = {"UnionId": f"u{i}"} if with_unionid else {}
        assert push(client, card_event("user_get_card", f"o{i}", card_id=card_id,
                                       code=f"90{i:04d}", OuterStr="w",
                                       **extra)).status_code == 200


def test_crashed_consumer_entries_reclaimed_none_twice(app, client, redis_client):
    push_gets(client, 10)
    r = redis_client
    ensure_group(r)
    # consumer A takes everything, handles three (one of them without getting to XACK), dies
    taken = r.xreadgroup(GROUP, "A", {keys.event_stream(): ">"}, count=10)[0][1]
    svc = app.extensions["bff"]
    for entry_id, values in taken[:2]:
        assert process_stream_entry(svc, entry_id, values) == "done"
    third_id, third = taken[2]
    # handled, then crashed before done/XACK:
    handlers.apply_card_event(svc, third_id, json.loads(third["raw"]))
    # consumer B reclaims (idle 0 here; the worker waits BFF_WORKER_CLAIM_IDLE)
    counts = process_pending(app, consumer="B")
    assert counts == {"done": 8}
    assert r.xpending(keys.event_stream(), GROUP)["pending"] == 0
    assert received(r, "pW") == 10  # the third one counted once although handled twice
    assert process_pending(app, consumer="C") == {}


def test_redelivered_done_entry_is_skipped(app, client, redis_client):
    push_gets(client, 1)
    ensure_group(redis_client)
    [(entry_id, values)] = redis_client.xreadgroup(GROUP, "A", {keys.event_stream(): ">"})[0][1]
    svc = app.extensions["bff"]
    assert process_stream_entry(svc, entry_id, values) == "done"
    assert process_stream_entry(svc, entry_id, values) == "skipped"
    assert received(redis_client, "pW") == 1


def _member_card_with_form(story, user: dict) -> tuple[str, str]:
    card_id = story.member_card()
    res = story.plugin(story.login(user), card_id)
    assert res.status_code == 200, res.json
    returned = story.fill_form(user, res.json["extraData"], fields={
        "USER_FORM_INFO_FLAG_MOBILE": "13800000000", "USER_FORM_INFO_FLAG_NAME": "Li Lei"})
    return card_id, returned["code"]


def test_submit_membercard_user_info_stores_member_sealed(story, app, client, redis_client, caplog):
    caplog.set_level("DEBUG")
    user = story.user()
    card_id, code = _member_card_with_form(story, user)
    res = client.post("/sandbox/_sim/events", json={
        "Event": "submit_membercard_user_info", "FromUserName": user["oa_openid"],
        "CardId": card_id, "UserCardCode": code})
    assert res.json["delivered"], res.json
    assert process_pending(app).get("dead") is None
    member = get_member(redis_client, app.extensions["bff"].settings, card_id=card_id, code=code)
    assert member.fields["mobile"] == "13800000000" and member.oa_openid == user["oa_openid"]
    dump = "".join(str(redis_client.hgetall(k)) for k in redis_client.scan_iter("bff:*")
                   if redis_client.type(k) == "hash")
    dump += str(redis_client.xrange(keys.event_stream()))
    assert "13800000000" not in dump and "Li Lei" not in dump
    assert "13800000000" not in caplog.text and "Li Lei" not in caplog.text


def test_failing_entry_retried_then_dead_lettered(story, app, client, redis_client):
    user = story.user()
    card_id, code = _member_card_with_form(story, user)
    story.fault("/card/membercard/userinfo/get", errcode=40001, count=100)
    client.post("/sandbox/_sim/events", json={
        "Event": "submit_membercard_user_info", "FromUserName": user["oa_openid"],
        "CardId": card_id, "UserCardCode": code})
    counts = process_pending(app)
    attempts = app.extensions["bff"].settings.worker_max_attempts
    assert counts.get("dead") == 1 and counts.get("retry", 0) == attempts - 1, counts
    [(_, dead)] = redis_client.xrange(keys.event_dead())
    assert dead["event"] == "submit_membercard_user_info" and dead["attempts"] == str(attempts)
    assert "error" in dead and "13800000000" not in str(dead) and user["oa_openid"] not in str(dead)
    assert redis_client.xpending(keys.event_stream(), GROUP)["pending"] == 0
    # the event itself is still in the feed
    events = client.get("/v1/admin/events", headers=ADMIN).json["events"]
    assert events[-1]["event"] == "submit_membercard_user_info"


@pytest.mark.slow
def test_real_worker_killed_mid_stream_and_restarted(story, app, client, redis_client, redis_url):
    n = 20
    # no UnionId in the events: every one needs a user/info lookup, slowed down below
    push_gets(client, n, card_id="pKILL", with_unionid=False)
    env = {**os.environ, "BFF_SANDBOX": "1", "BFF_REDIS_URL": redis_url,
           "BFF_WORKER_CLAIM_IDLE": "1", "BFF_WORKER_BATCH_SIZE": "5", "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--consumer", "w1"]
    # slow the worker down (each user/info lookup takes 200 ms) so the kill lands mid-stream
    # even on a loaded machine
    story.fault("/cgi-bin/user/info", latency_ms=200, count=1000)
    first = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while len(list(redis_client.scan_iter(match=keys.event_done("*")))) < 5:
            assert time.monotonic() < deadline, "the worker did not start handling"
            time.sleep(0.05)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    done_before = len(list(redis_client.scan_iter(match=keys.event_done("*"))))
    assert done_before < n, "killed too late to be mid-stream"
    second = subprocess.Popen([*cmd[:-1], "w2"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while len(list(redis_client.scan_iter(match=keys.event_done("*")))) < n:
            assert time.monotonic() < deadline, "the restarted worker did not finish"
            time.sleep(0.1)
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(10) == 0
    assert received(redis_client, "pKILL") == n
    assert redis_client.xpending(keys.event_stream(), GROUP)["pending"] == 0
