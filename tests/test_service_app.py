"""The service's Flask class: no cookie sessions, ``ensure_sync`` remembered per function."""

from __future__ import annotations

import pytest
from flask import session
from flask.sessions import NullSession

from bff.edges.http.service_app import ServiceFlask


def test_every_request_has_the_null_session_and_no_cookie_is_set():
    app = ServiceFlask(__name__)

    @app.get("/x")
    def x():
        assert isinstance(session._get_current_object(), NullSession)
        with pytest.raises(RuntimeError):
            session["a"] = 1
        return {"ok": True}

    res = app.test_client().get("/x", headers={"Cookie": "session=forged"})
    assert res.status_code == 200 and "Set-Cookie" not in res.headers
    assert "Cookie" not in res.headers.get("Vary", "")


def test_ensure_sync_is_remembered_and_still_wraps_coroutines():
    app = ServiceFlask(__name__)

    def plain():
        return 1

    async def coro():
        return 2

    class View:
        def method(self):
            return 3

    assert app.ensure_sync(plain) is plain and app.ensure_sync(plain) is plain
    bound = View().method
    assert app.ensure_sync(bound) is bound
    try:
        wrapped = app.ensure_sync(coro)
    except RuntimeError:  # asgiref missing: Flask's own refusal, unchanged
        return
    assert wrapped is not coro and wrapped() == 2


def test_the_service_uses_it(app):
    assert isinstance(app, ServiceFlask)
