"""verify_push on its own: no Flask app and no Redis, pushes built by tests/events/helpers.py
(its AES routine is independent of bff.ground.wechat.crypto)."""

from __future__ import annotations

import base64
import time
from urllib.parse import parse_qsl, urlsplit

import pytest

from bff.ground.config import SANDBOX_APPID, SANDBOX_PUSH_AES_KEY, SANDBOX_PUSH_TOKEN
from bff.ground.wechat import push as wechat_push
from bff.ground.wechat.crypto import PushCrypto
from bff.ground.wechat.push import PushMessage, PushRefused, parse_xml, verify_push
from tests.events.helpers import card_event, sha1_sorted, signed_request
from tests.events.test_push import LAUGHS, XXE

CRYPTO = PushCrypto(SANDBOX_PUSH_TOKEN, SANDBOX_PUSH_AES_KEY, SANDBOX_APPID)
EVENT = card_event("user_get_card", "oUSER1", code="444", OuterStr="shop")
SKEW = 300


class Seen:
    """The replay check as the edge keeps it (a set instead of Redis SET NX)."""

    def __init__(self) -> None:
        self.pairs: set[tuple[str, str]] = set()

    def __call__(self, timestamp: str, nonce: str) -> bool:
        if (timestamp, nonce) in self.pairs:
            return True
        self.pairs.add((timestamp, nonce))
        return False


def request(xml: str | bytes = EVENT, **kw) -> tuple[dict[str, str], bytes]:
    url, body = signed_request(xml, **kw)
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True)), body


def verify(query, body, *, mode="compat", crypto=CRYPTO, seen=None, now=None) -> PushMessage:
    return verify_push(query, body, crypto=crypto, mode=mode, max_skew=SKEW,
                       now=time.time() if now is None else now,
                       seen=seen if seen is not None else Seen())


def refused(query, body, **kw) -> str:
    with pytest.raises(PushRefused) as e:
        verify(query, body, **kw)
    assert str(e.value)  # the answer's message
    return e.value.reason


@pytest.mark.parametrize("mode, safe", [("safe", True), ("compat", True), ("compat", False),
                                        ("plain", False)])
def test_each_mode_accepts_its_pushes(mode, safe):
    query, body = request(safe=safe)
    message = verify(query, body, mode=mode)
    assert message.mode == ("safe" if safe else "plain") and message.is_event
    assert message.fields["Event"] == "user_get_card" and message.fields["OuterStr"] == "shop"
    assert (message.timestamp, message.nonce) == (query["timestamp"], query["nonce"])


@pytest.mark.parametrize("mode, safe", [("safe", False), ("plain", True)])
def test_a_mode_refuses_the_other_kind(mode, safe):
    query, body = request(safe=safe)
    assert refused(query, body, mode=mode) == wechat_push.WRONG_MODE


@pytest.mark.parametrize("mode", wechat_push.MODES)
def test_the_url_check_is_signed_like_a_plain_push_in_every_mode(mode):
    query, _ = request(safe=False)
    message = verify({**query, "echostr": "echo+me 1"}, None, mode=mode)
    assert message.echostr == "echo+me 1" and message.fields == {}
    query["signature"] = "0" * 40
    assert refused({**query, "echostr": "x"}, None, mode=mode) == wechat_push.BAD_SIGNATURE


@pytest.mark.parametrize("case", ["plain_token", "msg_signature", "signature_in_safe_mode",
                                  "no_encrypt"])
def test_bad_signatures(case):
    if case == "plain_token":
        query, body = request(safe=False, token="not-the-token")
    elif case == "msg_signature":
        query, body = request(token="not-the-token")
    elif case == "signature_in_safe_mode":  # msg_signature right, signature wrong
        query, body = request()
        first = query["signature"][0]
        query["signature"] = ("1" if first == "0" else "0") + query["signature"][1:]
    else:
        query, body = request(raw_body=b"<xml><ToUserName>gh</ToUserName></xml>")
    assert refused(query, body) == wechat_push.BAD_SIGNATURE


def test_safe_mode_needs_no_signature_besides_msg_signature():
    query, body = request()
    del query["signature"]
    assert verify(query, body, mode="safe").fields["UserCardCode"] == "444"


@pytest.mark.parametrize("offset", [SKEW + 1, -(SKEW + 1)])
def test_a_stale_timestamp_is_refused(offset):
    now = time.time()
    query, body = request(safe=False, timestamp=int(now) - offset)
    assert refused(query, body, now=now) == wechat_push.STALE


@pytest.mark.parametrize("name, value", [
    ("timestamp", "abc"), ("timestamp", "²"), ("timestamp", "١٧٠٠٠٠٠٠٠٠"), ("timestamp", "-5"),
    ("timestamp", ""), ("timestamp", "9" * 30), ("signature", "é"), ("msg_signature", "é"),
    ("nonce", "x" * 129), ("echostr", "e" * 513), ("openid", "o\n1"), ("nonce", "a\tb"),
    ("nonce", "a\x7f"), ("nonce", "\x00"), ("signature", "\xa0"), ("openid", "o\u2028"),
    ("nonce", "1\n"),
])
def test_odd_query_parameters_are_unsigned(name, value):
    query, body = request()
    query[name] = value
    assert refused(query, body) == wechat_push.UNSIGNED


def test_the_body_is_not_read_unless_the_query_holds():
    query, body = request(timestamp=1)

    def read() -> bytes:
        raise AssertionError("the body was read")

    assert refused(query, read) == wechat_push.STALE
    query, body = request()
    assert verify(query, lambda: body).fields["Event"] == "user_get_card"


def test_a_signed_pair_is_used_once_and_only_when_everything_else_holds():
    seen = Seen()
    query, body = request()
    forged = dict(query, msg_signature="0" * 40)
    assert refused(forged, body, seen=seen) == wechat_push.BAD_SIGNATURE
    assert seen.pairs == set()  # a refused push does not use up WeChat's pair
    verify(query, body, seen=seen)
    assert seen.pairs == {(query["timestamp"], query["nonce"])}
    assert refused(query, body, seen=seen) == wechat_push.REPLAYED
    plain = {k: v for k, v in query.items() if k not in ("encrypt_type", "msg_signature")}
    assert refused(plain, EVENT.encode(), seen=seen) == wechat_push.REPLAYED
    assert refused({**query, "echostr": "x"}, None, seen=seen) == wechat_push.REPLAYED


@pytest.mark.parametrize("kw", [{"appid": "wxsomeoneelse00001"}, {"key": "B" * 43}],
                         ids=["wrong_appid", "wrong_key"])
def test_another_accounts_message_is_undecryptable(kw):
    query, body = request(**kw)
    assert refused(query, body) == wechat_push.UNDECRYPTABLE


@pytest.mark.parametrize("encrypted", ["@@not-base64@@", "AAAA" * 11,
                                       base64.b64encode(bytes(64)).decode()],
                         ids=["not_base64", "bad_length", "bad_padding"])
def test_bad_ciphertexts_are_undecryptable(encrypted):
    query, _ = request()
    query["msg_signature"] = sha1_sorted(SANDBOX_PUSH_TOKEN, query["timestamp"], query["nonce"],
                                         encrypted)
    body = f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>".encode()
    assert refused(query, body) == wechat_push.UNDECRYPTABLE


def test_the_previous_key_is_accepted_during_rotation():
    old_key = "c2FuZGJveC1wdXNoLWFlcy1rZXktMzItYnl0ZXMhISE"
    rotated = PushCrypto(SANDBOX_PUSH_TOKEN, "Q" * 43, SANDBOX_APPID, previous_key=old_key)
    for key in (old_key, "Q" * 43):
        query, body = request(key=key)
        assert verify(query, body, crypto=rotated).fields["UserCardCode"] == "444"


HOSTILE = [XXE, LAUGHS, b"", b"   ", b"not xml", b"<xml><a>", b"<html></html>",
           b'<?xml version="1.0" encoding="x-unknown"?><xml/>',
           b'<?xml version="1.0" encoding="gbk"?><xml><a>\xc4\xe3</a></xml>',
           b"<xml>" + b"".join(b"<F%d>1</F%d>" % (i, i) for i in range(65)) + b"</xml>"]
HOSTILE_IDS = ["xxe", "billion_laughs", "empty", "blank", "not_xml", "unclosed", "not_xml_root",
               "unknown_encoding", "multibyte_encoding", "too_many_elements"]


@pytest.mark.parametrize("xml", HOSTILE, ids=HOSTILE_IDS)
def test_hostile_or_malformed_xml_is_refused_fast(xml):
    started = time.monotonic()
    query, body = request(safe=False)
    assert refused(query, xml) == wechat_push.BAD_XML  # the plain body
    query, body = request(raw_body=xml)
    assert refused(query, xml) == wechat_push.BAD_XML  # the outer body of a safe push
    assert time.monotonic() - started < 1.0


@pytest.mark.parametrize("inner", ["", "not xml", "<xml><a>", XXE.decode()])
def test_a_decrypted_message_that_is_not_our_xml_is_refused(inner):
    query, body = request(inner)  # encrypted by the helper's routine, not the service's
    assert refused(query, body) == wechat_push.BAD_XML


def test_parse_xml_keeps_flat_fields_only():
    fields = parse_xml(b"<xml><A> 1 </A><B><C>2</C></B><D/><E>" + b"x" * 5000 + b"</E></xml>")
    assert fields == {"A": "1", "D": "", "E": "x" * 4096}


def test_a_users_message_is_verified_but_not_an_event():
    xml = ("<xml><ToUserName>gh</ToUserName><FromUserName>o1</FromUserName>"
           "<CreateTime>1</CreateTime><MsgType>text</MsgType><Content>hi</Content></xml>")
    query, body = request(xml)
    assert not verify(query, body).is_event


def test_the_printable_check_is_the_specs_pattern():
    """``printable_ascii`` answers what the spec's ``PRINTABLE_ASCII`` pattern matches."""
    import re

    pattern = re.compile(wechat_push.PRINTABLE_ASCII)
    for c in map(chr, range(0x3000)):
        for value in (c, "a" + c, c + "b", c + "\n"):
            assert wechat_push.printable_ascii(value) == bool(pattern.fullmatch(value)), value
    assert wechat_push.printable_ascii("")
