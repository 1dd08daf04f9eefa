"""The client's contract: timeouts, UTF-8 bodies, bounded retries, errcodes as exceptions."""

from __future__ import annotations

import json
import logging

import pytest
import requests

from bff.ground.wechat import errors
from bff.ground.wechat.client import WeChatClient
from tests.wechat.scripted import scripted_session


class FakeTokens:
    """Hands out t1, t2, ...; expiring the current one moves to the next."""

    def __init__(self) -> None:
        self.n, self.expired = 1, []

    def access_token(self) -> str:
        return f"t{self.n}"

    def expire_access_token(self, failed: str) -> None:
        self.expired.append(failed)
        if failed == f"t{self.n}":
            self.n += 1


def make(*replies, credentials=None, max_retries=2):
    session, adapter = scripted_session(*replies)
    client = WeChatClient("http://wechat.test", session=session, connect_timeout=1.5,
                          read_timeout=4, max_retries=max_retries, credentials=credentials)
    client._sleep_backoff = lambda attempt: None
    return client, adapter


def test_success_returns_body_without_errcode_and_sends_utf8_with_timeouts() -> None:
    client, adapter = make({"errcode": 0, "errmsg": "ok", "url": "u"}, credentials=FakeTokens())
    assert client.post("/card/landingpage/create", {"page_title": "优惠"}) == {"url": "u"}
    req = adapter.requests[0]
    assert req.body == json.dumps({"page_title": "优惠"}, ensure_ascii=False).encode()
    assert "charset=utf-8" in req.headers["Content-Type"]
    assert "access_token=t1" in req.url
    assert adapter.timeouts == [(1.5, 4)]


def test_busy_twice_then_success() -> None:
    client, adapter = make({"errcode": -1}, {"errcode": -1}, {"errcode": 0, "count": 3},
                           credentials=FakeTokens())
    assert client.post("/card/code/getdepositcount", {"card_id": "c"}) == {"count": 3}
    assert len(adapter.requests) == 3


def test_busy_beyond_retries_raises_busy() -> None:
    client, adapter = make({"errcode": -1, "errmsg": "system error"}, credentials=FakeTokens())
    with pytest.raises(errors.Busy):
        client.post("/card/code/getdepositcount", {"card_id": "c"})
    assert len(adapter.requests) == 3


def test_timeouts_exhaust_retries() -> None:
    client, adapter = make(requests.ReadTimeout("http://wechat.test/x?access_token=t1"),
                           credentials=FakeTokens())
    with pytest.raises(errors.WeChatUnavailable) as e:
        client.get("/cgi-bin/user/info", openid="o")
    assert e.value.reason == "timeout" and len(adapter.requests) == 3
    assert "t1" not in str(e.value) and e.value.__cause__ is None and e.value.__suppress_context__


def test_non_idempotent_call_is_not_retried_after_read_timeout() -> None:
    client, adapter = make(requests.ReadTimeout("lost"), credentials=FakeTokens())
    with pytest.raises(errors.WeChatUnavailable):
        client.post("/card/code/consume", {"code": "1"}, idempotent=False)
    assert len(adapter.requests) == 1


def test_non_idempotent_call_is_retried_when_never_connected() -> None:
    client, adapter = make(requests.ConnectTimeout("no route"), {"errcode": 0},
                           credentials=FakeTokens())
    assert client.post("/card/code/consume", {"code": "1"}, idempotent=False) == {}
    assert len(adapter.requests) == 2


def test_5xx_retried_4xx_not_and_html_is_bad_response() -> None:
    client, adapter = make(502, {"errcode": 0}, credentials=FakeTokens())
    assert client.get("/cgi-bin/user/info") == {}
    client, adapter = make(404, credentials=FakeTokens())
    with pytest.raises(errors.WeChatUnavailable) as e:
        client.get("/cgi-bin/user/info")
    assert (e.value.reason, e.value.http_status, len(adapter.requests)) == ("http_status", 404, 1)


def test_token_invalid_expires_that_token_and_retries_once() -> None:
    tokens = FakeTokens()
    client, adapter = make({"errcode": 40001}, {"errcode": 0, "ok": 1}, credentials=tokens)
    assert client.get("/cgi-bin/user/info") == {"ok": 1}
    assert tokens.expired == ["t1"]
    assert "access_token=t2" in adapter.requests[1].url


def test_second_token_invalid_raises() -> None:
    tokens = FakeTokens()
    client, adapter = make({"errcode": 42001, "errmsg": "access_token expired"},
                           credentials=tokens)
    with pytest.raises(errors.TokenInvalid):
        client.get("/cgi-bin/user/info")
    assert tokens.expired == ["t1"] and len(adapter.requests) == 2


def test_quota_is_not_retried_and_does_not_refresh() -> None:
    tokens = FakeTokens()
    client, adapter = make({"errcode": 45009, "errmsg": "reach max api daily quota limit"},
                           credentials=tokens)
    with pytest.raises(errors.QuotaExceeded) as e:
        client.get("/cgi-bin/user/info")
    assert len(adapter.requests) == 1 and tokens.expired == []
    assert e.value.errcode == errors.ErrCode.DAILY_QUOTA and e.value.path == "/cgi-bin/user/info"


def test_logs_never_carry_the_token(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="bff.ground.wechat")
    client, _ = make({"errcode": -1}, {"errcode": 0}, credentials=FakeTokens())
    client.get("/cgi-bin/user/info", openid="oSECRET")
    text = caplog.text
    assert "/cgi-bin/user/info" in text and "t1" not in text and "oSECRET" not in text


def test_error_factory_and_hierarchy() -> None:
    assert type(errors.error_for(40014, "x", "/p")) is errors.TokenInvalid
    assert type(errors.error_for(45011, "x", "/p")) is errors.QuotaExceeded
    assert type(errors.error_for(-1, "x", "/p")) is errors.Busy
    err = errors.error_for(40056, "invalid serial code", "/card/code/get")
    assert type(err) is errors.WeChatApiError and isinstance(err, errors.WeChatError)
    assert (err.errcode, err.errmsg, err.path) == (40056, "invalid serial code", "/card/code/get")
    assert issubclass(errors.WeChatUnavailable, errors.WeChatError)
    assert not issubclass(errors.WeChatUnavailable, errors.WeChatApiError)


def test_the_environment_is_read_once_and_certificates_are_still_verified(monkeypatch) -> None:
    """requests read the proxies, the CA bundle and ~/.netrc on every call; the client's session
    reads them once. A proxy set before start is used, NO_PROXY too, and without a CA bundle
    in the environment certificates are verified (``verify`` True, never None)."""
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "HTTPS_PROXY", "https_proxy",
                 "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NETRC", "/nonexistent")
    plain = WeChatClient("https://api.weixin.qq.com").session
    assert plain.verify is True and not plain.trust_env and not plain.proxies

    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    proxied = WeChatClient("https://api.weixin.qq.com").session
    assert proxied.proxies == {"https": "http://proxy.example:3128"}
    assert proxied.verify == "/etc/ssl/certs/ca-certificates.crt"
    monkeypatch.setenv("NO_PROXY", "api.weixin.qq.com")
    assert not WeChatClient("https://api.weixin.qq.com").session.proxies

    monkeypatch.delenv("HTTPS_PROXY")
    monkeypatch.delenv("NO_PROXY")
    client = WeChatClient("http://127.0.0.1:9", max_retries=0)
    # a call made afterwards does not read the environment again
    monkeypatch.setattr(requests.utils, "getproxies", lambda: pytest.fail("read per call"))
    monkeypatch.setattr(requests.sessions, "get_netrc_auth", lambda *a: pytest.fail("netrc"))
    monkeypatch.setattr(client.session, "send", lambda *a, **k: (_ for _ in ()).throw(
        requests.ConnectionError("refused")))
    with pytest.raises(errors.WeChatUnavailable):
        client.request("GET", "/cgi-bin/x", token=False)


def test_a_redirect_is_not_followed_and_the_call_keeps_the_session_headers() -> None:
    """WeChat's API never redirects: a 302 is a failed call, and the query string with its
    access_token is sent to no other URL. The session's own headers still go with each call."""
    def moved(request: requests.PreparedRequest) -> requests.Response:
        resp = requests.Response()
        resp.request, resp.url, resp.status_code = request, request.url, 302
        resp.headers["Location"] = "http://wechat.test/elsewhere"
        resp._content = b""
        return resp

    client, adapter = make(moved, {"errcode": 0}, credentials=FakeTokens())
    client.session.headers["User-Agent"] = "bff-test"
    with pytest.raises(errors.WeChatUnavailable) as e:
        client.post("/card/code/decrypt", {"encrypt_code": "x"})
    assert e.value.http_status == 302
    assert [r.url for r in adapter.requests] == ["http://wechat.test/card/code/decrypt"
                                                 "?access_token=t1"]
    assert adapter.requests[0].headers["User-Agent"] == "bff-test"


def test_the_query_string_is_encoded_as_requests_encodes_it() -> None:
    params = {"a": "a+b/c=d&e", "b": "中文 空格", "n": 3, "l": ["1", "2"]}
    client, adapter = make({"errcode": 0}, credentials=FakeTokens())
    client.get("/cgi-bin/x", **params)
    expected = requests.PreparedRequest()
    expected.prepare(method="GET", url="http://wechat.test/cgi-bin/x",
                     params={**params, "access_token": "t1"})
    assert adapter.requests[0].url == expected.url


@pytest.mark.parametrize("method,url,data,headers", [
    ("POST", "http://wechat.test/card/code/decrypt?access_token=t1", b'{"a": "\xe4\xb8\xad"}',
     {"Content-Type": "application/json; charset=utf-8"}),
    ("GET", "https://api.weixin.qq.com/cgi-bin/user/info?access_token=A-b_c.d~e&openid=o%2B1"
            "&lang=zh_CN", None, None),
    ("POST", "http://127.0.0.1:8000/sandbox.internal/card/get", None, None),
    ("GET", "http://wechat.test/cgi-bin/x?b=%E4%B8%AD%E6%96%87+%E7%A9%BA&l=1&l=2", None, None),
    # not plain: left to requests (a space, an upper-case host, credentials, a bad escape)
    ("GET", "http://wechat.test/cgi-bin/x?a=b c", None, None),
    ("GET", "http://WeChat.test/cgi-bin/x", None, None),
    ("GET", "http://user:pw@wechat.test/cgi-bin/x", None, None),
    ("GET", "http://wechat.test/cgi-bin/x?a=%zz", None, None),
    ("GET", "http://wechat.test/中文", None, None),
])
def test_a_request_is_prepared_as_requests_prepares_it(method: str, url: str,
                                                        data: bytes | None,
                                                        headers: dict | None) -> None:
    """``_prepared`` builds plain URLs directly (requests' ``prepare`` was a twentieth of a
    first decrypt's CPU): the request is the one ``prepare`` makes, header for header."""
    from bff.ground.wechat.client import _prepared

    session = requests.Session()
    session.headers["User-Agent"] = "bff-test"
    ours = _prepared(method, url, data, headers, session)
    theirs = requests.PreparedRequest()
    theirs.prepare(method=method, url=url, data=data, auth=None,
                   headers={**session.headers, **headers} if headers else session.headers)
    assert (ours.method, ours.url, ours.body) == (theirs.method, theirs.url, theirs.body)
    assert dict(ours.headers) == dict(theirs.headers)
