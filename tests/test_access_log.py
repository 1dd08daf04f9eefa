"""The access log of the Procfile's gunicorn: raw, escaped paths (no forged lines) without query
strings, and no card code or openid in it."""

from __future__ import annotations

import http.client
import os
import re
import subprocess
import time

import pytest

from bench.common import ROOT, free_port, procfile_web, stop_processes, wait_http
from bff.edges.http.access_log import safe_path
from bff.ground.config import SANDBOX_ADMIN_TOKEN

CARD_ID = "pFS7Fjg8kV1IdDz01r4SQwMkuCKc"
CODE = "123456789012"
OPENID = "oABCDEFGHIJKLMNOPQRSTUVWXYZa"


def _get(port: int, path: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.putrequest("GET", path, skip_accept_encoding=True)  # the path exactly as given
        conn.putheader("Authorization", f"Bearer {SANDBOX_ADMIN_TOKEN}")
        conn.endheaders()
        return conn.getresponse().status
    finally:
        conn.close()


@pytest.mark.slow  # a real gunicorn from the Procfile line
def test_the_procfile_access_log_has_no_forged_lines_and_no_ids(redis_url, tmp_path):
    port = free_port()
    env = {**os.environ, "BFF_SANDBOX": "1", "BFF_REDIS_URL": redis_url,
           "BFF_LOG_LEVEL": "WARNING", "WEB_CONCURRENCY": "1"}
    log = tmp_path / "web.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(procfile_web(port, "wsgi:app", env), cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_http(f"http://127.0.0.1:{port}/healthz")
            assert _get(port, "/x%0aforged%0d%0a1.2.3.4%20%22GET%20/admin%22%20200") == 404
            assert _get(port, f"/v1/admin/members/{CARD_ID}/{CODE}/changes?card=1") == 200
            assert _get(port, f"/v1/admin/users/{OPENID}/cards") in (200, 404)
            assert _get(port, f"/v1/admin/identities?oa_openid={OPENID}") in (200, 404)
            time.sleep(0.5)
        finally:
            stop_processes([proc])
    text = log.read_text(encoding="utf-8", errors="replace")
    lines = [ln for ln in text.splitlines() if '"GET ' in ln]
    assert len(lines) >= 5, text  # /healthz (at least once) and the four above
    forged = next(ln for ln in lines if "/x%0aforged" in ln)
    assert re.fullmatch(r'127\.0\.0\.1 "GET /x%0aforged%0d%0a1\.2\.3\.4%20%22GET%20/admin%22%20200"'
                        r" 404 \d+ \d+ms [0-9a-f]{32}", forged), forged
    assert not any(ln.startswith(("forged", "1.2.3.4")) for ln in text.splitlines())
    for secret in (CODE, OPENID, "card=1", "oa_openid"):
        assert secret not in text, secret
    assert f"/v1/admin/members/{CARD_ID}/~" in text  # the card_id stays, the code is hashed
    assert "/v1/admin/users/~" in text


def test_safe_path_escapes_and_hashes():
    assert safe_path({"RAW_URI": '/a"b\\c\x00'}) == "/a\\x22b\\x5cc\\x00"
    one = safe_path({"RAW_URI": f"/v1/admin/members/{CARD_ID}/abc/changes"})
    assert "abc" not in one and one == safe_path({"RAW_URI": f"/v1/admin/members/{CARD_ID}/abc"
                                                             "/changes?x"})  # stable
    assert safe_path({"RAW_URI": "/sandbox/_sim/login-codes/lc-1"}).count("~") == 1
    assert safe_path({"RAW_URI": "/wechat/events?openid=o1"}) == "/wechat/events"


def test_hashed_ids_are_keyed_and_one_per_id_however_encoded():
    """The second review's F5: an unsalted sha256 of ``1234`` or a 12-digit code is found
    again by trying every value; the hash is keyed (BFF_DATA_KEY), and an id percent-encoded
    differently is the same id."""
    import hashlib

    plain = safe_path({"RAW_URI": "/v1/admin/members/" + CARD_ID + "/1234"})
    assert plain.startswith(f"/v1/admin/members/{CARD_ID}/~") and "1234" not in plain
    assert "~" + hashlib.sha256(b"1234").hexdigest()[:10] not in plain
    a = safe_path({"RAW_URI": "/v1/admin/users/oAbcdeT123456"})
    b = safe_path({"RAW_URI": "/v1/admin/users/oAbcde%54123456"})
    assert a == b


def test_the_lean_access_line_is_gunicorns_line_for_every_atom():
    """``AccessLogger.access`` builds only the atoms its format names; the line is the one
    gunicorn's own ``Logger.access`` writes from every atom (with the safe path)."""
    import datetime
    import logging

    from gunicorn.config import Config
    from gunicorn.glogging import Logger

    from bff.edges.http.access_log import AccessLogger

    every = " ".join(f"%({a})s" for a in "hlustrsmUqHbBfaTDMLp")
    log_format = (every + ' "%({x-request-id}o)s" %({X-Request-Id}o)s %({user-agent}i)s '
                  "%({x-twice}i)s %({wsgi.url_scheme}e)s %({missing}i)s")
    cfg = Config()
    cfg.set("accesslog", "-")
    cfg.set("access_log_format", log_format)
    logger = AccessLogger(cfg)
    lines: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(record.getMessage())
    logger.access_log.handlers = [handler]

    class Resp:
        status, sent = "201 Created", 17
        headers = [("Content-Type", "application/json"), ("X-Request-Id", 'ab"c')]

    class Req:
        headers = [("USER-AGENT", 'wrk "4"'), ("X-TWICE", "one"), ("X-TWICE", "two")]

    environ = {"REQUEST_METHOD": "POST", "RAW_URI": f"/v1/admin/users/{OPENID}/cards?x=1",
               "PATH_INFO": "/decoded", "QUERY_STRING": "x=1", "SERVER_PROTOCOL": "HTTP/1.1",
               "REMOTE_ADDR": "10.0.0.1", "HTTP_USER_AGENT": 'wrk "4"',
               "wsgi.url_scheme": "http"}
    took = datetime.timedelta(seconds=1, microseconds=234567)
    logger.now = lambda: "[06/Dec/2026:00:00:00 +0000]"
    logger.access(Resp(), Req(), environ, took)
    Logger.access(logger, Resp(), Req(), environ, took)
    assert len(lines) == 2 and lines[0] == lines[1], lines
    assert OPENID not in lines[0] and "x=1" not in lines[0]
    assert ' "ab\\"c" ' in lines[0] and " two " in lines[0]
