"""Review 4: a push's query with raw non-UTF-8 bytes (a WSGI server hands QUERY_STRING over as
latin-1) is refused as unsigned, not a 500. The direct route leaves a non-ASCII query to the
view, whose ``_query`` decodes it as UTF-8 and raises UnicodeDecodeError.

Not reachable behind gunicorn 27, which refuses such a request line with 400 itself; it is
under a server that passes the bytes through (werkzeug's dev server, or another WSGI server)."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("query", ["signature=\xff", "a=\xc3&timestamp=1"])
def test_review4_raw_non_utf8_query_is_refused_not_a_500(client, method, query):
    res = client.open("/wechat/events", method=method, data=b"<xml></xml>",
                      content_type="text/xml", environ_overrides={"QUERY_STRING": query})
    assert res.status_code in (400, 403), res.status_code
