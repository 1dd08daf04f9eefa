"""Simulator controls: faults, clock, call counts, reset, config; transport and server."""

from __future__ import annotations

import requests
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.wrappers import Response

from bff.sandbox import create_sandbox_app, serve_in_thread
from bff.sandbox.transport import WSGIAdapter
from tests.sandbox.conftest import OA_APPID, OA_SECRET
from tests.story import Story

STABLE = {"grant_type": "client_credential", "appid": OA_APPID, "secret": OA_SECRET}


def test_fault_errcode_for_count_calls(wx):
    answer = wx.post("/_sim/faults", json={"path": "/cgi-bin/stable_token", "errcode": -1,
                                           "count": 2})
    assert answer.get_json()["path"] == "cgi-bin/stable_token"
    assert wx.get("/_sim/faults").get_json()["cgi-bin/stable_token"]["count"] == 2
    codes = [wx.post("/cgi-bin/stable_token", json=STABLE).get_json()["errcode"]
             for _ in range(3)]
    assert codes == [-1, -1, 0]
    assert wx.get("/_sim/faults").get_json() == {}


def test_fault_http_status_and_clear(wx):
    wx.post("/_sim/faults", json={"path": "cgi-bin/stable_token", "http_status": 503,
                                  "count": 5})
    assert wx.post("/cgi-bin/stable_token", json=STABLE).status_code == 503
    assert wx.delete("/_sim/faults").get_json()["deleted"] == 1
    assert wx.post("/cgi-bin/stable_token", json=STABLE).status_code == 200
    assert wx.post("/_sim/faults", json={"path": "x"}).status_code == 400


def test_calls_are_counted_per_path(wx, story: Story):
    story.token()
    story.token()
    wx.post("/cgi-bin/stable_token", json=STABLE)
    wx.get("/_sim/calls")
    assert wx.get("/_sim/calls").get_json() == {"cgi-bin/token": 2, "cgi-bin/stable_token": 1}
    wx.delete("/_sim/calls")
    assert wx.get("/_sim/calls").get_json() == {}


def test_clock(wx):
    before = wx.get("/_sim/clock").get_json()["now"]
    after = wx.post("/_sim/clock", json={"advance_seconds": 3600}).get_json()["now"]
    assert 3600 <= after - before < 3700
    assert wx.post("/_sim/clock", json={"advance_seconds": -1}).status_code == 400


def test_reset_removes_only_sandbox_keys(wx, story: Story, redis_client):
    redis_client.set("bff:someone-else", "1")
    story.user()
    story.token()
    assert list(redis_client.scan_iter(match="{wxsandbox}:*"))  # every master of a cluster
    assert wx.post("/_sim/reset").get_json()["deleted"] > 0
    assert list(redis_client.scan_iter(match="{wxsandbox}:*")) == []
    assert redis_client.get("bff:someone-else") == "1"


def test_config_is_shared_and_merged(wx, redis_client, sb_config):
    assert wx.get("/_sim/config").get_json() == {
        "event_url": sb_config.event_url, "safe_mode": True, "latency_ms": 0,
        "push_history": 200, "push_delay_ms": 0, "push_drop": 0, "push_duplicate": False,
        "push_reorder": False}
    wx.put("/_sim/config", json={"latency_ms": 5})
    other_worker = create_sandbox_app(redis_client, sb_config).test_client()
    assert other_worker.get("/_sim/config").get_json()["latency_ms"] == 5
    assert wx.put("/_sim/config", json={"nope": 1}).status_code == 400


def test_adapter_reaches_a_mounted_sandbox(redis_client, sb_config):
    def bff(environ, start_response):
        return Response("bff", mimetype="text/plain")(environ, start_response)

    sandbox = create_sandbox_app(redis_client, sb_config)
    app = DispatcherMiddleware(bff, {"/sandbox": sandbox})
    session = requests.Session()
    session.mount("http://sandbox.internal", WSGIAdapter(app))
    base = "http://sandbox.internal/sandbox"
    answer = session.get(f"{base}/cgi-bin/token", timeout=5, params={
        "grant_type": "client_credential", "appid": OA_APPID, "secret": OA_SECRET})
    assert answer.status_code == 200 and answer.json()["expires_in"] == 7200
    assert answer.headers["Content-Type"].startswith("application/json")
    posted = session.post(f"{base}/cgi-bin/stable_token", json=STABLE, timeout=5)
    assert posted.json()["errcode"] == 0
    missing = session.get(f"{base}/nope", timeout=5)
    assert missing.status_code == 404
    assert session.get("http://sandbox.internal/other", timeout=5).text == "bff"


def test_serve_in_thread(redis_url, sb_config):
    base, shutdown = serve_in_thread(redis_url, sb_config)
    try:
        with requests.Session() as s:
            user = s.post(f"{base}/_sim/users", json={}, timeout=5).json()
            assert user["oa_openid"].startswith("o")
    finally:
        shutdown()


def test_push_history_is_a_setting_and_records_the_create_time(wx, story: Story):
    assert wx.put("/_sim/config", json={"push_history": 3}).get_json()["push_history"] == 3
    card = story.card()
    for _ in range(5):
        story.add_card(story.user()["oa_openid"], card)
    pushes = wx.get("/_sim/pushes", query_string={"limit": 100}).get_json()["pushes"]
    assert len(pushes) == 3
    assert all(isinstance(p["create_time"], int) and p["card_id"] == card for p in pushes)


def test_code_records_count_the_consumes_and_activations_that_took_effect(wx, story: Story,
                                                                          redis_client):
    card = story.card()
    got = story.add_card(story.user()["oa_openid"], card)
    token = story.token()
    code = story.decrypt(token, got["card_list"][0]["code"])["code"]
    assert story.call("/card/code/consume", token, {"code": code})["errcode"] == 0
    assert story.call("/card/code/consume", token, {"code": code})["errcode"] == 40099
    record = redis_client.hgetall(f"{{wxsandbox}}:code:{card}:{code}")
    assert record["consumes"] == "1" and "activations" not in record
