"""Push strictness: safe mode never falls back to plain, both signatures hold, a signed push is
accepted once, and odd signatures are a 403, never a 500."""

from __future__ import annotations

import time
from urllib.parse import urlencode

import pytest
import redis

from bff import create_app
from bff.domain.holdings import get_holding, holdings_of
from bff.ground.store import keys
from tests.events.helpers import card_event, push, sha1_sorted, signed_request

TOKEN = "sandboxpushtoken"


def stream_len(r) -> int:
    return r.xlen(keys.event_stream()) if r.exists(keys.event_stream()) else 0


def test_safe_mode_is_the_default_and_refuses_a_plain_push(story, client, redis_client):
    """A captured plain push URL (its signature covers token, timestamp and nonce only) with a
    forged body must not move a victim's code to the attacker."""
    victim = card_event("user_get_card", "oVICTIM", code="555", OuterStr="x")
    assert push(client, victim).status_code == 200  # WeChat's own, encrypted
    url, _ = signed_request("<xml/>", safe=False)  # the captured URL
    forged = card_event("user_get_card", "oMALLORY", code="555", OuterStr="x")
    res = client.post(url, data=forged.encode(), content_type="text/xml")
    story.assert_error(res, 403, message="safe-mode")
    assert get_holding(redis_client, "555").oa_openid == "oVICTIM"
    assert stream_len(redis_client) == 1


def test_safe_mode_checks_signature_too_when_sent(client, redis_client):
    url, body = signed_request(card_event("user_view_card", "o1", code="1"))
    bad = url.replace("signature=", "signature=0", 1)  # msg_signature untouched
    assert "msg_signature=" in bad
    res = client.post(bad, data=body, content_type="text/xml")
    assert res.status_code == 403 and res.json["message"] == "bad signature"
    assert stream_len(redis_client) == 0
    without = url.split("signature=", 1)[0] + "&".join(
        p for p in url.split("?", 1)[1].split("&") if not p.startswith("signature="))
    res = client.post("/wechat/events?" + without.split("?", 1)[1], data=body,
                      content_type="text/xml")
    assert res.status_code == 200  # msg_signature alone is enough when signature is not sent


def test_a_signed_push_is_accepted_once(story, client, redis_client):
    url, body = signed_request(card_event("user_view_card", "o1", code="1"))
    assert client.post(url, data=body, content_type="text/xml").status_code == 200
    again = client.post(url, data=body, content_type="text/xml")
    story.assert_error(again, 403, message="replay")
    assert stream_len(redis_client) == 1


def test_a_push_that_was_not_recorded_can_be_retried(client, redis_client, monkeypatch):
    import bff.edges.events.push as push_module

    url, body = signed_request(card_event("user_view_card", "o1", code="1"))
    real = push_module.record_event

    def down(*args, **kwargs):
        raise redis.ConnectionError("down")

    monkeypatch.setattr(push_module, "record_event", down)
    assert client.post(url, data=body, content_type="text/xml").status_code == 503
    monkeypatch.setattr(push_module, "record_event", real)
    assert client.post(url, data=body, content_type="text/xml").status_code == 200
    assert stream_len(redis_client) == 1


def test_a_replay_whose_recording_fails_does_not_free_the_pair(story, client, redis_client,
                                                                monkeypatch):
    """The pair is marked by the recording script with a token of the request; a failed
    script removes that request's mark only, never the mark of the push that used the pair."""
    import bff.edges.events.push as push_module

    url, body = signed_request(card_event("user_view_card", "o1", code="1"))
    assert client.post(url, data=body, content_type="text/xml").status_code == 200
    real = push_module.record_event

    def down(*args, **kwargs):
        raise redis.ConnectionError("down")

    monkeypatch.setattr(push_module, "record_event", down)
    assert client.post(url, data=body, content_type="text/xml").status_code == 503
    monkeypatch.setattr(push_module, "record_event", real)
    story.assert_error(client.post(url, data=body, content_type="text/xml"), 403,
                       message="replay")
    assert stream_len(redis_client) == 1


def test_a_user_message_is_accepted_once(story, client, redis_client):
    xml = ("<xml><ToUserName>gh</ToUserName><FromUserName>o1</FromUserName>"
           "<CreateTime>1</CreateTime><MsgType>text</MsgType><Content>hi</Content></xml>")
    url, body = signed_request(xml)
    assert client.post(url, data=body, content_type="text/xml").get_data(as_text=True) \
        == "success"
    story.assert_error(client.post(url, data=body, content_type="text/xml"), 403,
                       message="replay")
    assert stream_len(redis_client) == 0


@pytest.mark.parametrize("mode", ["safe", "compat", "plain"])
def test_non_ascii_signatures_are_refused_not_500(redis_client, redis_url, mode):
    app = create_app({"sandbox": True, "redis_url": redis_url, "push_mode": mode})
    client = app.test_client()
    ts = str(int(time.time()))
    for name in ("signature", "msg_signature"):
        res = client.get("/wechat/events?" + urlencode({
            "signature": "é" if name == "signature" else sha1_sorted(TOKEN, ts, "1"),
            "timestamp": ts, "nonce": "1", "echostr": "x"}))
        if name == "signature":
            assert res.status_code == 403
        for safe in (True, False):
            url, body = signed_request(card_event("user_view_card", "o1", code="1"), safe=safe)
            query = dict(p.split("=", 1) for p in url.split("?", 1)[1].split("&"))
            if name not in query:
                continue  # a plain push has no msg_signature to spoil
            query[name] = "%C3%A9"
            res = client.post("/wechat/events?" + "&".join(f"{k}={v}" for k, v in query.items()),
                              data=body, content_type="text/xml")
            assert res.status_code == 403, (mode, name, safe, res.get_data(as_text=True))


def test_compat_accepts_both_and_plain_refuses_encrypted(story, redis_client, redis_url):
    compat = create_app({"sandbox": True, "redis_url": redis_url, "push_mode": "compat"})
    for safe in (True, False):
        assert push(compat.test_client(), card_event("user_view_card", "o1", code=str(safe)),
                    safe=safe).status_code == 200
    plain = create_app({"sandbox": True, "redis_url": redis_url, "push_mode": "plain"})
    res = push(plain.test_client(), card_event("user_view_card", "o2", code="2"), safe=True)
    story.assert_error(res, 403, message="plain-mode")
    assert push(plain.test_client(), card_event("user_view_card", "o2", code="3"),
                safe=False).status_code == 200


def test_a_safe_push_url_replayed_as_plain_in_compat_mode_is_refused(
        story, redis_client, redis_url):
    app = create_app({"sandbox": True, "redis_url": redis_url, "push_mode": "compat"})
    client = app.test_client()
    url, body = signed_request(card_event("user_get_card", "oVICTIM", code="555"))
    assert client.post(url, data=body, content_type="text/xml").status_code == 200
    plain_url = "&".join(p for p in url.split("&")
                         if not p.startswith(("encrypt_type=", "msg_signature=")))
    forged = card_event("user_get_card", "oMALLORY", code="555")
    res = client.post(plain_url, data=forged.encode(), content_type="text/xml")
    story.assert_error(res, 403, message="replay")
    assert get_holding(redis_client, "555").oa_openid == "oVICTIM"


def test_a_receipt_without_card_id_is_acknowledged_not_500(client, redis_client):
    xml = ("<xml><FromUserName>oX</FromUserName><CreateTime>1</CreateTime>"
           "<MsgType>event</MsgType><Event>user_get_card</Event>"
           "<UserCardCode>123</UserCardCode></xml>")
    res = push(client, xml)
    assert res.status_code == 200 and res.get_data(as_text=True) == "success"


@pytest.mark.parametrize("mode", ["compat", "plain"])
def test_a_url_check_signature_admits_no_forged_plain_push(story, redis_client, redis_url, mode):
    """The URL check's query (timestamp, nonce, signature) is a plain push's signature: once
    used for the check, it is used up, as a push's is."""
    client = create_app({"sandbox": True, "redis_url": redis_url, "push_mode": mode}).test_client()
    ts, nonce = str(int(time.time())), "8134"
    query = {"signature": sha1_sorted(TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce}
    check = client.get("/wechat/events?" + urlencode({**query, "echostr": "hello"}))
    assert check.status_code == 200 and check.get_data(as_text=True) == "hello"
    forged = card_event("user_get_card", "oMALLORY", code="777")
    res = client.post("/wechat/events?" + urlencode(query), data=forged.encode(),
                      content_type="text/xml")
    story.assert_error(res, 403, message="replay")
    assert stream_len(redis_client) == 0 and get_holding(redis_client, "777") is None
    again = client.get("/wechat/events?" + urlencode({**query, "echostr": "hello"}))
    story.assert_error(again, 403, message="replay")


def alice_gifts_it_to_bob(client, redis_client, code: str) -> None:
    gift = card_event("user_get_card", "oBOB", code=code, IsGiveByFriend="1",
                      FriendUserName="oALICE", OldUserCardCode=code)
    assert push(client, gift).status_code == 200
    assert get_holding(redis_client, code).oa_openid == "oBOB"


def test_a_replayed_safe_receipt_rewrites_no_holding(story, client, redis_client):
    """A safe push's receipt goes out with its recording, before the replay check answers; its
    own marker of the signed pair keeps a replay from taking back a code that moved on."""
    url, body = signed_request(card_event("user_get_card", "oALICE", code="777", OuterStr="x"))
    assert client.post(url, data=body, content_type="text/xml").status_code == 200
    assert get_holding(redis_client, "777").oa_openid == "oALICE"
    alice_gifts_it_to_bob(client, redis_client, "777")
    story.assert_error(client.post(url, data=body, content_type="text/xml"), 403,
                       message="replay")
    assert get_holding(redis_client, "777").oa_openid == "oBOB"
    # (the owner index is a hint that holdings_of re-checks: the replay's SADD may re-add it)
    assert "777" not in {h.code for h in holdings_of(redis_client, oa_openid="oALICE")}


@pytest.mark.parametrize("safe", [True, False])
def test_a_safe_ack_with_its_receipt_is_one_pipeline_a_plain_one_two(redis_client, redis_url,
                                                                      monkeypatch, safe):
    from bff.ground.store import coalesce

    app = create_app({"sandbox": True, "redis_url": redis_url, "push_mode": "compat"})
    sent = []
    real = coalesce._pipeline  # every pipeline, redis-py's or sent directly
    monkeypatch.setattr(coalesce, "_pipeline", lambda *a: sent.append(1) or real(*a))
    res = push(app.test_client(), card_event("user_get_card", "oC", code="778"), safe=safe)
    assert res.status_code == 200
    assert len(sent) == (1 if safe else 2)  # a plain body is not signed: receipt after
    assert get_holding(redis_client, "778").oa_openid == "oC"


def test_a_replay_after_a_failed_push_time_receipt_takes_no_gifted_code_back(
        story, client, redis_client, monkeypatch):
    """Found by an attacker's review: the push-time receipt failed (its slot's node down), so
    its marker of the pair was never set; the worker recorded it later. The order rule, not the
    marker, keeps the replay from taking back the code Alice has since gifted to Bob."""
    import bff.domain.events.stream as stream
    from bff.domain.events.parse import CardEvent
    from bff.domain.events.receipt import record_receipt
    from bff.ground.wechat.push import parse_xml

    real, down = stream.add_receipt, {"on": True}

    def failing(pipe, receipt, once=None):
        if down["on"]:
            pipe.execute_command("NO-SUCH-COMMAND")  # an error reply in the receipt's place
        else:
            real(pipe, receipt, once)

    monkeypatch.setattr(stream, "add_receipt", failing)
    alice = card_event("user_get_card", "oALICE", code="901", OuterStr="x")
    url, body = signed_request(alice)
    assert client.post(url, data=body, content_type="text/xml").status_code == 200
    down["on"] = False
    record_receipt(redis_client, CardEvent.parse(parse_xml(alice.encode())))  # the worker
    alice_gifts_it_to_bob(client, redis_client, "901")
    story.assert_error(client.post(url, data=body, content_type="text/xml"), 403,
                       message="replay")
    assert get_holding(redis_client, "901").oa_openid == "oBOB"


def test_a_replay_of_a_push_an_earlier_release_accepted_takes_no_gifted_code_back(
        story, client, redis_client):
    """A rolling deploy: the earlier release used up the pair in {ev} only (no receipt marker
    in the holding's slot)."""
    url, body = signed_request(card_event("user_get_card", "oALICE", code="902"))
    assert client.post(url, data=body, content_type="text/xml").status_code == 200
    for key in redis_client.scan_iter("bff:push-seen:{bff:holding:902}:*"):
        redis_client.delete(key)
    alice_gifts_it_to_bob(client, redis_client, "902")
    story.assert_error(client.post(url, data=body, content_type="text/xml"), 403,
                       message="replay")
    assert get_holding(redis_client, "902").oa_openid == "oBOB"


def test_a_late_receipt_never_undoes_a_newer_one(client, redis_client):
    """WeChat may deliver out of order: Alice's receipt (t) arriving after Bob's gift (t+1),
    or the worker recording it again behind the push-time receipt of the gift."""
    now = int(time.time())
    gift = card_event("user_get_card", "oBOB", code="903", IsGiveByFriend="1",
                      FriendUserName="oALICE", OldUserCardCode="903", create_time=now + 1)
    assert push(client, gift).status_code == 200
    late = card_event("user_get_card", "oALICE", code="903", create_time=now)
    assert push(client, late).status_code == 200  # acknowledged: recorded, not applied
    assert get_holding(redis_client, "903").oa_openid == "oBOB"


def test_a_push_whose_receipt_script_was_unknown_is_answered_and_recorded_once(
        client, redis_client):
    """Found by an attacker's review: a node just promoted knows the recording's script but not
    the receipt's; the pipeline is sent again, and the recording, which knows its own request's
    mark, answers as the first time instead of 'replayed'."""
    from bff.domain.events.stream import _RECORD

    redis_client.script_flush()
    redis_client.script_load(_RECORD.source)
    res = push(client, card_event("user_get_card", "oC", code="904"))
    assert res.status_code == 200, res.get_data(as_text=True)
    assert stream_len(redis_client) == 1
    assert get_holding(redis_client, "904").oa_openid == "oC"
