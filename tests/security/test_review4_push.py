"""Review 4 (attacker's eye): the push path's new fast paths (flat XML patterns, the hand-split
query, the shared AES-ECB object) against what they replace."""

from __future__ import annotations

import base64
import os
import threading
import time

import pytest
from Crypto.Cipher import AES
from werkzeug.wrappers import Request

from bff.edges.events.push import _query
from bff.ground.wechat.crypto import PushCrypto, _BlockDecryptor
from bff.ground.wechat.push import _FLAT, PushRefused, _parsed, parse_xml

N = 64 * 1024


def _either(read, body):
    try:
        return read(body)
    except PushRefused as e:
        return e.reason


@pytest.mark.parametrize("body", [
    b"<xml>" + b"<A>1</A>" * (N // 8) + b"!",
    b"<xml>" + b" <A>1</A>" * (N // 9) + b" !",
    b"<xml><A>" + b"x" * N + b"</B></xml>",
    b"<xml><A><![CDATA[" + b"x" * N,
    b"<xml>" + b"<A><![CDATA[x]]></A>" * (N // 20) + b"<",
    b"<xml>" + b" \t\r\n" * (N // 4) + b"<",
    b"<xml>" + b"<" * N,
    b"<xml>" + b"<A><![CDATA[" * (N // 12),
    b"<xml>" + b"<A>1</A>" * (N // 8) + b"</xml>",
    b" " * N + b"x",
], ids=range(10))
def test_no_body_up_to_the_limit_is_slow(body):
    started = time.perf_counter()
    _either(parse_xml, body)
    assert time.perf_counter() - started < 0.5  # backtracking would take seconds


@pytest.mark.parametrize("body", [
    b"\r\n <xml>\r\n<A>1</A>\r\n</xml>\r\n", b"<xml><xml>1</xml></xml>",
    b"<xml><xmlns>1</xmlns></xml>", b"<xml><_>1</_></xml>", b"<xml><A>a>b</A></xml>",
    b"<xml><A><![CDATA[<B>x</B>&amp;]]></A></xml>", b"<xml><A>\t x \n</A></xml>",
    b"<xml><A><![CDATA[ " + b"y" * 5000 + b"]]></A></xml>",
    b"<xml>" + b"".join(b"<F%d>1</F%d>" % (i % 64, i % 64) for i in range(200)) + b"</xml>",
    b"<xml><" + b"a" * 64 + b">1</" + b"a" * 64 + b"></xml>",
])
def test_flat_documents_read_as_the_parse_reads_them(body):
    assert _FLAT.fullmatch(body)
    assert _either(parse_xml, body) == _either(_parsed, body)


@pytest.mark.parametrize("raw", ["a=1&a=2", "a", "=x", "&&a=&", "a==b", "a=1;b=2", "a=%41+b",
                                 "signature=x&signature=y", "a=1#b=2", "a=?&b=\t"])
def test_the_split_query_is_werkzeugs(raw):
    env = {"QUERY_STRING": raw, "REQUEST_METHOD": "POST", "wsgi.url_scheme": "http",
           "SERVER_NAME": "x", "SERVER_PORT": "80", "PATH_INFO": "/"}
    assert _query(env) == Request(env).args.to_dict()


def test_block_decryptor_is_cbc_for_every_length_and_shared_across_threads():
    key = os.urandom(32)
    blocks = _BlockDecryptor(key)
    for n in range(1, 80):
        data = os.urandom(16 * n)
        assert blocks.cbc(data) == AES.new(key, AES.MODE_CBC, key[:16]).decrypt(data)
    samples = [os.urandom(16 * n) for n in range(1, 300)]
    expected = [AES.new(key, AES.MODE_CBC, key[:16]).decrypt(d) for d in samples]
    bad = []

    def run():
        for _ in range(20):
            for d, e in zip(samples, expected, strict=False):
                if blocks.cbc(d) != e:
                    bad.append(len(d))

    threads = [threading.Thread(target=run) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not bad


@pytest.mark.parametrize("encrypt", ["", "A", "AAAA", "A" * 22 + "==", "A" * 24 + "=",
                                     base64.b64encode(b"\0" * 16).decode(), "é" * 24, "\ud800",
                                     base64.b64encode(b"\xff" * 4096).decode()])
def test_malformed_ciphertexts_are_refused_not_raised(encrypt):
    crypto = PushCrypto("tok", "A" * 43, "wxappid", previous_key="B" * 43)
    from bff.ground.wechat.crypto import PushCryptoError
    with pytest.raises(PushCryptoError):
        crypto.decrypt(encrypt)
