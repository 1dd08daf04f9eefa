"""The one HTTP client that talks to WeChat: pooled session, timeouts, bounded retries.

Every failure leaves here as an exception from ``bff.ground.wechat.errors``. Logs and metrics
carry the
API path, errcode and latency only: query strings hold access_tokens, secrets and login codes.
"""

from __future__ import annotations

import json as jsonlib
import logging
import random
import re
import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, Protocol
from urllib.parse import urlencode

import requests
from requests.adapters import HTTPAdapter
from requests.cookies import RequestsCookieJar
from requests.structures import CaseInsensitiveDict
from urllib3.exceptions import NewConnectionError

from bff.ground.metrics import UPSTREAM_CALLS, UPSTREAM_LATENCY, labelled
from bff.ground.wechat.errors import Busy, TokenInvalid, WeChatError, WeChatUnavailable, error_for

log = logging.getLogger("bff.ground.wechat")

# Asked with the path before each call to WeChat made for the work in progress
# (bff.edges.http.quota:
# the caller's budgets are charged before the call and may refuse it). None outside such work.
BEFORE_CALL: ContextVar[Callable[[str], None] | None] = ContextVar("bff_before_wechat_call",
                                                                   default=None)


class TokenProvider(Protocol):
    def access_token(self) -> str: ...

    def expire_access_token(self, failed: str) -> None: ...


class WeChatClient:
    """Calls ``base_url + path`` and returns the JSON body of a successful answer (errcode 0)."""

    backoff_base = 0.2  # seconds; doubled per attempt, capped, full jitter
    backoff_cap = 2.0

    def __init__(
        self,
        base_url: str,
        *,
        session: requests.Session | None = None,
        connect_timeout: float = 3.05,
        read_timeout: float = 5.0,
        max_retries: int = 2,
        credentials: TokenProvider | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = session if session is not None else _pooled_session(self.base_url)
        self.timeout = (connect_timeout, read_timeout)
        self.max_retries = max_retries
        self.credentials = credentials

    def get(self, path: str, **params: Any) -> dict:
        return self.request("GET", path, params=params)

    def post(self, path: str, body: dict, *, idempotent: bool = True) -> dict:
        return self.request("POST", path, json=body, idempotent=idempotent)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict | None = None,
        json: Any = None,
        files: dict[str, tuple[str, bytes, str]] | None = None,
        token: bool = True,
        idempotent: bool = True,
    ) -> dict:
        """One logical call: bounded retries, plus one compare-and-expire token refresh.

        ``idempotent=False`` (e.g. consuming a code) retries only failures where the request
        certainly never reached WeChat, so a lost answer is never turned into a second action.
        """
        before = BEFORE_CALL.get()
        if before is not None:
            before(path)
        if not token:
            return self._call(method, path, params, json, idempotent, files)
        if self.credentials is None:
            raise ValueError("this client has no credentials; pass token=False")
        # Two rounds at most: the second only after WeChat rejected the token of the first.
        for round_ in range(2):
            access_token = self.credentials.access_token()
            query = dict(params or {}, access_token=access_token)
            try:
                return self._call(method, path, query, json, idempotent, files)
            except TokenInvalid:
                if round_ == 1:
                    raise
                self.credentials.expire_access_token(access_token)
        raise AssertionError("unreachable")

    def _call(
        self, method: str, path: str, params: dict | None, body: Any, idempotent: bool,
        files: dict[str, tuple[str, bytes, str]] | None = None,
    ) -> dict:
        data = headers = None
        if body is not None:
            # WeChat wants raw UTF-8; \u escapes turn Chinese card titles into literal "\u4e2d".
            data = jsonlib.dumps(body, ensure_ascii=False).encode("utf-8")
            headers = {"Content-Type": "application/json; charset=utf-8"}
        for attempt in range(self.max_retries + 1):
            try:
                return self._send(method, path, params, data, headers, files)
            except (WeChatUnavailable, Busy) as e:
                if attempt >= self.max_retries or not _retryable(e, idempotent):
                    raise
                log.warning("wechat retry path=%s errcode=%s attempt=%d", path, e.errcode, attempt)
                self._sleep_backoff(attempt)
        raise AssertionError("unreachable")

    def _send(
        self, method: str, path: str, params: dict | None, data: bytes | None, headers: Any,
        files: dict[str, tuple[str, bytes, str]] | None = None,
    ) -> dict:
        started = time.perf_counter()
        label = "transport"
        try:
            try:
                resp = self._exchange(method, self.base_url + path, params, data, headers,
                                      files)
            # "from None": requests' exception text holds the URL, query string and token included.
            except requests.Timeout as e:
                sent = not isinstance(e, requests.ConnectTimeout)
                raise WeChatUnavailable("timeout", path, request_sent=sent) from None
            except requests.RequestException as e:
                sent = not _never_sent(e)
                raise WeChatUnavailable("connection", path, request_sent=sent) from None
            if resp.status_code != 200:
                raise WeChatUnavailable("http_status", path, http_status=resp.status_code)
            try:
                payload = jsonlib.loads(resp.content.decode("utf-8"))
            except ValueError:
                raise WeChatUnavailable("bad_response", path, http_status=200) from None
            if not isinstance(payload, dict):
                raise WeChatUnavailable("bad_response", path, http_status=200)
            errcode = payload.pop("errcode", 0)
            errmsg = payload.pop("errmsg", "")
            try:
                errcode = int(errcode)
            except (TypeError, ValueError):
                raise WeChatUnavailable("bad_response", path, http_status=200) from None
            label = str(errcode)
            if errcode != 0:
                raise error_for(errcode, str(errmsg), path, payload)
            return payload
        finally:
            elapsed = time.perf_counter() - started
            labelled(UPSTREAM_CALLS, path, label).inc()
            labelled(UPSTREAM_LATENCY, path).observe(elapsed)
            log.info("wechat call path=%s errcode=%s latency_ms=%.1f", path, label, elapsed * 1e3)

    def _exchange(self, method: str, url: str, params: dict | None, data: bytes | None,
                  headers: Any, files: dict[str, tuple[str, bytes, str]] | None
                  ) -> requests.Response:
        """One HTTP exchange. A call with no files is prepared as requests prepares it (the
        session's headers and auth merged in) and sent (``Session.send``, which tracing
        instruments): ``Session.request``'s merging of cookies, hooks and the environment (read
        once by ``_pooled_session``), none of which WeChat's API uses, was a fifth of a first
        decrypt's client CPU (issue 18). Redirects are not followed either way: a token in the
        query string goes to WeChat's host alone."""
        s = self.session
        if files is not None or s.trust_env or s.cookies or s.hooks["response"] or s.params:
            return s.request(method, url, params=params, data=data, headers=headers,
                             files=files, timeout=self.timeout, allow_redirects=False)
        if params:  # encoded as requests would; its own check of the mapping is slow
            url = f"{url}?{urlencode(params, doseq=True)}"
        prepared = _prepared(method, url, data, headers, s)
        return s.send(prepared, allow_redirects=False, timeout=self.timeout, verify=s.verify,
                      cert=s.cert, proxies=s.proxies)

    def _sleep_backoff(self, attempt: int) -> None:
        """Capped exponential backoff with full jitter; tests replace it with a no-op."""
        time.sleep(random.uniform(0, min(self.backoff_cap, self.backoff_base * 2**attempt)))


# A URL that requests' preparation leaves exactly as it is: a lower-case http(s) host (and
# port) without credentials, a path and a query string of characters it never quotes, and
# percent signs only in escapes (what ``urlencode`` makes of the parameters).
_PLAIN_URL = re.compile(r"https?://[a-z0-9.\-]+(?::[0-9]+)?/[A-Za-z0-9\-._~/]*"
                        r"(?:\?(?:[A-Za-z0-9\-._~+=&]|%[0-9A-F]{2})*)?")


def _prepared(method: str, url: str, data: bytes | None, headers: dict[str, str] | None,
              s: requests.Session) -> requests.PreparedRequest:
    """The request requests' ``PreparedRequest.prepare`` would make, built directly for the
    plain URLs and bodies of WeChat's API: ``prepare`` parses, re-quotes and checks the URL
    and every header again, about 170 us of CPU per call, a twentieth of a first decrypt
    (issue 18). Anything else (credentials in the session, another URL) is prepared by
    requests."""
    if s.auth is not None or method not in ("GET", "POST") or not _PLAIN_URL.fullmatch(url):
        prepared = requests.PreparedRequest()
        prepared.prepare(method=method, url=url, data=data, auth=s.auth,
                         headers={**s.headers, **headers} if headers else s.headers)
        return prepared
    prepared = requests.PreparedRequest()
    prepared.method, prepared.url, prepared.body = method, url, data
    prepared._cookies = RequestsCookieJar()  # what a redirect's handling merges into
    prepared.headers = CaseInsensitiveDict(s.headers)
    if headers:
        prepared.headers.update(headers)
    if data is not None:
        prepared.headers["Content-Length"] = str(len(data))
    elif method == "POST":
        prepared.headers["Content-Length"] = "0"
    return prepared


def _retryable(e: WeChatError, idempotent: bool) -> bool:
    if isinstance(e, Busy):
        return True  # -1: WeChat did not process the request
    assert isinstance(e, WeChatUnavailable)
    if e.reason == "bad_response" or (e.reason == "http_status" and (e.http_status or 0) < 500):
        return False
    return idempotent or not e.request_sent


def _never_sent(e: requests.RequestException) -> bool:
    """True when the connection was never established, so WeChat cannot have acted."""
    if isinstance(e, requests.ConnectTimeout):
        return True
    reason = getattr(e.args[0], "reason", None) if e.args else None
    return isinstance(reason, NewConnectionError)


def _pooled_session(base_url: str) -> requests.Session:
    """A session for ``base_url`` alone. What requests reads of the environment on every call
    (``*_PROXY`` and ``NO_PROXY``, ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE``, ``~/.netrc``) is
    read once, here: per call it was a scan of the environment and two file lookups, about a
    tenth of a first decrypt's CPU outside WeChat (issue 18). A proxy is still honoured, set
    before the process starts, as deployments set it."""
    session = requests.Session()
    # Many worker threads share one client; the default pool of 10 would churn connections.
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=100)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    settings = session.merge_environment_settings(base_url, {}, None, True, None)
    session.proxies.update(settings["proxies"])
    session.verify = settings["verify"]
    auth = requests.utils.get_netrc_auth(base_url)
    if auth:
        session.auth = auth
    session.trust_env = False
    return session
