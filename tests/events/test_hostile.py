"""/wechat/events under hostile or odd input: always a quick 4xx (never 500, never a hang), the
exact dedup identity, no ``success`` unless recorded, and operator reads that survive odd events."""

from __future__ import annotations

import base64
import os
import time
from urllib.parse import urlencode

import pytest

from bff import create_app
from bff.edges.events import process_pending
from bff.ground.store import keys
from tests.events.helpers import card_event, encrypt, push, sha1_sorted
from tests.redis_server import RedisServer
from tests.story import ADMIN


@pytest.fixture
def settings_overrides(redis_url: str) -> dict:
    """These tests cover both push modes: accept plain and safe pushes (BFF_PUSH_MODE=compat)."""
    return {"sandbox": True, "redis_url": redis_url, "push_mode": "compat"}


TOKEN = "sandboxpushtoken"


def stream_len(r) -> int:
    return r.xlen(keys.event_stream()) if r.exists(keys.event_stream()) else 0


def signed_url(*, timestamp: str | None = None, encrypted: str | None = None,
               echostr: str | None = None) -> str:
    """A URL whose signature (and msg_signature over ``encrypted``) is right."""
    ts = str(int(time.time())) if timestamp is None else timestamp
    params = {"signature": sha1_sorted(TOKEN, ts, "7"), "timestamp": ts, "nonce": "7"}
    if encrypted is not None:
        params |= {"encrypt_type": "aes", "msg_signature": sha1_sorted(TOKEN, ts, "7", encrypted)}
    if echostr is not None:
        params["echostr"] = echostr
    return "/wechat/events?" + urlencode(params)


def outer(encrypted: str) -> bytes:
    return f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>".encode()


NOT_B64 = "@@not-base64@@"
BAD_PADDING = base64.b64encode(bytes(64)).decode()  # decrypts to garbage: padding check fails
BAD_LENGTH = base64.b64encode(bytes(33)).decode()
HUGE = base64.b64encode(os.urandom(45_000)).decode()  # ~60 KB, under the 64 KiB limit


@pytest.mark.parametrize("encrypted, body, status", [
    ("x", b"", 400),                                   # empty body
    ("x", b"hello, not xml", 400),                     # not XML
    ("", b"<xml><ToUserName>gh</ToUserName></xml>", 403),  # safe mode without Encrypt
    (NOT_B64, outer(NOT_B64), 403),
    (BAD_PADDING, outer(BAD_PADDING), 403),
    (BAD_LENGTH, outer(BAD_LENGTH), 403),
    (HUGE, outer(HUGE), 403),                          # big CDATA within the limit
    ("x", b'<?xml version="1.0" encoding="x-unknown"?><xml/>', 400),
    ("x", b'<?xml version="1.0" encoding="gbk"?><xml><a>\xc4\xe3</a></xml>', 400),
], ids=["empty", "not_xml", "no_encrypt", "not_base64", "bad_padding", "bad_length",
        "huge_cdata", "unknown_encoding", "multibyte_encoding"])
def test_hostile_safe_mode_pushes_are_refused_quickly(story, client, redis_client, encrypted, body,
                                                      status):
    started = time.monotonic()
    res = client.post(signed_url(encrypted=encrypted), data=body, content_type="text/xml")
    assert time.monotonic() - started < 1.0
    story.assert_error(res, status)
    assert stream_len(redis_client) == 0


@pytest.mark.parametrize("inner", ["", "not xml", "<xml><a>"])
def test_decrypted_message_that_is_not_xml_is_400(story, client, redis_client, inner):
    encrypted = encrypt(inner)
    res = client.post(signed_url(encrypted=encrypted), data=outer(encrypted),
                      content_type="text/xml")
    story.assert_error(res, 400)
    assert stream_len(redis_client) == 0


# "²".isdigit() and "١".isdigit() are True in Python; int("²") raises.
@pytest.mark.parametrize("timestamp", ["abc", "²", "١٧٠٠٠٠٠٠٠٠", "-5", "1e9", " 1", "",
                                       "9" * 30])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_bad_timestamps_are_403(story, client, redis_client, timestamp, method):
    url = signed_url(timestamp=timestamp, echostr="e" if method == "GET" else None)
    res = client.open(url, method=method, data=b"<xml/>", content_type="text/xml")
    body = story.assert_error(res, 403)
    assert body["message"] and "e" != res.get_data(as_text=True)
    assert stream_len(redis_client) == 0


def test_missing_query_parameters_are_403(story, client):
    story.assert_error(client.post("/wechat/events", data=b"<xml/>"), 403)
    story.assert_error(client.post("/wechat/events?encrypt_type=aes", data=b"<xml/>"), 403)


BASE = {"FromUserName": "oA", "CreateTime": 1_700_000_000, "Event": "user_view_card",
        "CardId": "pD", "UserCardCode": "100"}


@pytest.mark.parametrize("field, other", [
    ("FromUserName", "oB"), ("CreateTime", 1_700_000_001),
    ("Event", "user_enter_session_from_card"), ("CardId", "pE"), ("UserCardCode", "101"),
])
def test_each_dedup_field_tells_events_apart(client, redis_client, field, other):
    def xml(**over):
        f = {**BASE, **over}
        return card_event(f["Event"], f["FromUserName"], card_id=f["CardId"],
                          code=f["UserCardCode"], create_time=f["CreateTime"])

    assert push(client, xml()).status_code == 200
    assert push(client, xml(**{field: other})).status_code == 200
    assert stream_len(redis_client) == 2


def test_fields_outside_the_dedup_identity_do_not(client, redis_client):
    """A retry may differ elsewhere (WeChat's ToUserName, OuterStr...): still the same event."""
    args = ("user_view_card", BASE["FromUserName"])
    kw = {"card_id": BASE["CardId"], "code": BASE["UserCardCode"],
          "create_time": BASE["CreateTime"]}
    assert push(client, card_event(*args, **kw, OuterStr="a")).status_code == 200
    assert push(client, card_event(*args, **kw, OuterStr="b", SourceScene="X")).status_code == 200
    assert push(client, card_event(*args, **kw), safe=False).status_code == 200
    assert stream_len(redis_client) == 1


@pytest.mark.slow
def test_no_success_unless_recorded(story, redis_client):
    server = RedisServer().start()
    try:
        client = create_app({"sandbox": True, "redis_url": server.url}).test_client()
        assert push(client, card_event("user_view_card", "o1", code="1")).status_code == 200
        server.stop()
        res = push(client, card_event("user_view_card", "o1", code="2"))
        story.assert_error(res, 503)
        assert "success" not in res.get_data(as_text=True)
    finally:
        server.stop()


def test_odd_create_time_neither_breaks_the_feed_nor_the_worker(app, client, redis_client):
    xml = ("<xml><FromUserName>oZ</FromUserName><CreateTime>\u00b2</CreateTime>"
           "<MsgType>event</MsgType><Event>user_del_card</Event><CardId>pZ</CardId>"
           "<UserCardCode>5</UserCardCode></xml>")
    assert push(client, xml).status_code == 200
    assert push(client, xml.replace("\u00b2", "9" * 20)).status_code == 200
    page = client.get("/v1/admin/events", headers=ADMIN)
    assert page.status_code == 200, page.json
    assert [e["create_time"] for e in page.json["events"]] == [None, None]
    assert process_pending(app) == {"done": 2}


def test_personal_form_fields_never_reach_the_stream_or_the_feed(client, redis_client):
    xml = card_event("submit_membercard_user_info", "oP", code="77",
                     USER_FORM_INFO_FLAG_MOBILE="13800000000", user_form_info_name="Li Lei")
    assert push(client, xml).status_code == 200
    assert "13800000000" not in str(redis_client.xrange(keys.event_stream()))
    assert "Li Lei" not in str(redis_client.xrange(keys.event_stream()))
    feed = client.get("/v1/admin/events", headers=ADMIN).get_data(as_text=True)
    assert "13800000000" not in feed and "Li Lei" not in feed and "77" in feed


@pytest.mark.parametrize(("path", "status"), [
    ("/v1/admin/events?after=not-an-id", 422), ("/v1/admin/events?limit=abc", 422),
    ("/v1/admin/stats/channels?from=2024-13-45", 422), ("/v1/admin/identities", 404),
])
def test_operator_token_is_checked_before_the_arguments(story, client, path, status):
    story.assert_error(client.get(path), 401)
    assert client.get(path, headers=ADMIN).status_code == status


@pytest.mark.parametrize("after", ["1700000000000-0\n", "99999999999999999999", "\u0661\u0662"])
def test_events_cursor_must_be_an_ascii_stream_id(story, client, after):
    story.assert_error(client.get("/v1/admin/events", query_string={"after": after},
                                  headers=ADMIN), 422)


def test_events_tail_refuses_a_bad_cursor_in_one_line(runner):
    res = runner.invoke(args=["events", "tail", "--after", "garbage"])
    assert res.exit_code == 2 and res.exception is not None
    assert "Traceback" not in res.output
    assert res.stderr.strip().splitlines()[-1].startswith("Error: Invalid value for '--after'")
