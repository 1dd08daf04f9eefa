"""/wechat/events: URL check, plain and safe mode, refusals, hostile XML, body limit, dedup."""

from __future__ import annotations

import time

import pytest

from bff import create_app
from bff.ground.store import keys
from tests.events.helpers import card_event, push, sha1_sorted, signed_request


@pytest.fixture
def settings_overrides(redis_url: str) -> dict:
    """These tests cover both push modes: accept plain and safe pushes (BFF_PUSH_MODE=compat)."""
    return {"sandbox": True, "redis_url": redis_url, "push_mode": "compat"}


TOKEN = "sandboxpushtoken"


def stream_len(redis_client) -> int:
    return redis_client.xlen(keys.event_stream()) if redis_client.exists(
        keys.event_stream()) else 0


def url_check(client, *, signature=None, timestamp=None, echostr="echo+me 123"):
    ts = str(timestamp or int(time.time()))
    sig = signature or sha1_sorted(TOKEN, ts, "42")
    return client.get("/wechat/events", query_string={
        "signature": sig, "timestamp": ts, "nonce": "42", "echostr": echostr})


def test_url_check_echoes_echostr_verbatim(client):
    res = url_check(client)
    assert res.status_code == 200
    assert res.mimetype == "text/plain"
    assert res.get_data(as_text=True) == "echo+me 123"


@pytest.mark.parametrize("kind", ["bad_signature", "stale", "missing"])
def test_url_check_refused_without_echo(client, kind):
    if kind == "bad_signature":
        res = url_check(client, signature="0" * 40)
    elif kind == "stale":
        ts = int(time.time()) - 3600
        res = url_check(client, timestamp=ts, signature=sha1_sorted(TOKEN, str(ts), "42"))
    else:
        res = client.get("/wechat/events", query_string={"echostr": "echo+me 123"})
    assert res.status_code == 403
    assert res.json["code"] == 403 and "echo+me" not in res.get_data(as_text=True)


@pytest.mark.parametrize("safe", [True, False])
def test_push_is_recorded_then_acknowledged(client, redis_client, safe):
    res = push(client, card_event("user_view_card", "oUSER1", code="111"), safe=safe)
    assert res.status_code == 200 and res.get_data(as_text=True) == "success"
    assert res.mimetype == "text/plain"
    [(entry_id, values)] = redis_client.xrange(keys.event_stream())
    assert values["event"] == "user_view_card" and values["code"] == "111"
    assert values["mode"] == ("safe" if safe else "plain")


def test_three_deliveries_recorded_once(client, redis_client):
    xml = card_event("user_get_card", "oUSER1", code="222", create_time=1_700_000_000)
    for _ in range(3):
        assert push(client, xml).get_data(as_text=True) == "success"
    assert stream_len(redis_client) == 1
    # a different code at the same second is another event (the key is not broader)
    push(client, card_event("user_get_card", "oUSER1", code="223", create_time=1_700_000_000))
    assert stream_len(redis_client) == 2


def test_two_instances_record_one_event(app, redis_client, settings_overrides):
    other = create_app(settings_overrides).test_client()
    xml = card_event("user_del_card", "oUSER1", code="333")
    assert push(app.test_client(), xml).status_code == 200
    assert push(other, xml).status_code == 200
    assert stream_len(redis_client) == 1


def test_previous_key_accepted_during_rotation(redis_client, settings_overrides):
    new_key = "Q" * 43
    old_key = "c2FuZGJveC1wdXNoLWFlcy1rZXktMzItYnl0ZXMhISE"
    client = create_app({**settings_overrides, "push_aes_key": new_key,
                         "push_aes_key_previous": old_key}).test_client()
    assert push(client, card_event("user_view_card", "o1", code="1"), key=old_key).status_code \
        == 200
    assert push(client, card_event("user_view_card", "o1", code="2"), key=new_key).status_code \
        == 200
    assert stream_len(redis_client) == 2


@pytest.mark.parametrize("case", ["plain_signature", "msg_signature", "appid", "stale", "key"])
def test_forged_or_stale_pushes_refused(client, redis_client, case):
    xml = card_event("user_get_card", "oUSER1", code="444")
    kw: dict = {}
    if case == "plain_signature":
        kw = {"safe": False, "token": "not-the-token"}
    elif case == "msg_signature":
        kw = {"token": "not-the-token"}
    elif case == "appid":
        kw = {"appid": "wxsomeoneelse00001"}
    elif case == "stale":
        kw = {"timestamp": int(time.time()) - 301}
    else:
        kw = {"key": "B" * 43}
    res = push(client, xml, **kw)
    assert res.status_code == 403, res.json
    assert res.json["code"] == 403 and res.json["status"] == "Forbidden"
    assert stream_len(redis_client) == 0


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<xml><FromUserName>&xxe;</FromUserName><Event>user_get_card</Event></xml>"""
LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol">""" + b"".join(
    f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'.encode()
    for i in range(1, 10)) + b"""]>
<xml><Event>&lol9;</Event></xml>"""


@pytest.mark.parametrize("payload", [XXE, LAUGHS], ids=["xxe", "billion_laughs"])
@pytest.mark.parametrize("safe", [True, False])
def test_hostile_xml_refused_fast(story, client, redis_client, payload, safe):
    started = time.monotonic()
    url, body = signed_request(payload, safe=safe)
    res = client.post(url, data=body, content_type="text/xml")
    assert time.monotonic() - started < 1.0
    story.assert_error(res, 400)
    assert stream_len(redis_client) == 0


@pytest.mark.parametrize("body", [b"", b"not xml", b"<xml><a>", b"<html></html>"])
def test_malformed_xml_is_400(story, client, body):
    url, _ = signed_request("<xml/>", safe=False)
    res = client.post(url, data=body, content_type="text/xml")
    story.assert_error(res, 400)


def test_oversized_body_is_413(story, client, redis_client):
    big = card_event("user_view_card", "o1", code="1", Pad="x" * 70_000)
    res = push(client, big, safe=False)
    story.assert_error(res, 413)
    assert stream_len(redis_client) == 0


def test_user_messages_are_acknowledged_not_recorded(client, redis_client):
    xml = ("<xml><ToUserName>gh</ToUserName><FromUserName>o1</FromUserName>"
           "<CreateTime>1</CreateTime><MsgType>text</MsgType><Content>hi</Content></xml>")
    assert push(client, xml).get_data(as_text=True) == "success"
    assert stream_len(redis_client) == 0


def test_record_once_on_the_embedded_store():
    import fakeredis

    from bff.domain.events.stream import record_event

    r = fakeredis.FakeRedis(decode_responses=True)
    fields = {"FromUserName": "o1", "CreateTime": "1", "Event": "user_del_card", "CardId": "p",
              "UserCardCode": "1"}
    first = record_event(r, fields, mode="plain", dedup_ttl=60, retention_days=30)
    again = record_event(r, fields, mode="plain", dedup_ttl=60, retention_days=30)
    assert not first.duplicate and first.entry_id and again.duplicate
    assert r.xlen(keys.event_stream()) == 1


def test_oversized_chunked_body_without_length_is_413(client, redis_client):
    import io

    url, body = signed_request(card_event("user_view_card", "o1", code="1", Pad="x" * 70_000),
                               safe=False)
    res = client.post(url, input_stream=io.BytesIO(body), content_type="text/xml",
                      environ_overrides={"wsgi.input_terminated": True, "CONTENT_LENGTH": ""})
    assert res.status_code == 413
    assert stream_len(redis_client) == 0
