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


def _hooked(app, seen, blueprint=None):
    target = blueprint or app
    tag = "bp" if blueprint else "app"
    target.before_request(lambda: seen.append(f"{tag} before"))
    target.after_request(lambda r: seen.append(f"{tag} after") or r)
    target.teardown_request(lambda e: seen.append(f"{tag} teardown {type(e).__name__}"))


@pytest.mark.parametrize("with_blueprint_hooks", [False, True])
def test_the_hooks_run_as_flask_runs_them(with_blueprint_hooks):
    from flask import Blueprint, Flask

    results = []
    for cls in (Flask, ServiceFlask):
        app, seen = cls(__name__), []
        bp = Blueprint("bp", __name__)
        _hooked(app, seen)
        if with_blueprint_hooks:
            _hooked(app, seen, bp)

        @bp.get("/ok")
        def ok():
            return "ok"

        @bp.get("/boom")
        def boom():
            raise ValueError("boom")

        @app.before_request
        def refuse():
            from flask import request
            return ("refused", 403) if request.args.get("refuse") else None

        app.register_blueprint(bp)
        client = app.test_client()
        assert client.get("/ok").status_code == 200
        assert client.get("/ok?refuse=1").status_code == 403
        assert client.get("/boom").status_code == 500
        results.append(seen)
    assert results[0] == results[1]
    assert ("bp before" in results[0]) is with_blueprint_hooks


@pytest.mark.parametrize("path", ["/sandbox", "/sandbox/", "/sandbox/_sim/users", "/sandbox//x",
                                  "/sandboxes", "/v1/cards/add-card", "/", "", "//x", "/v1/"])
def test_one_mount_gives_every_path_the_environ_werkzeug_gives(path):
    from werkzeug.middleware.dispatcher import DispatcherMiddleware

    from bff.edges.http.service_app import OneMount

    def recorder(tag):
        def app(environ, start_response):
            return [tag, environ["SCRIPT_NAME"], environ["PATH_INFO"]]
        return app

    outer, mounted = recorder("outer"), recorder("mounted")
    seen = [m({"PATH_INFO": path, "SCRIPT_NAME": "/base"}, None) for m in (
        DispatcherMiddleware(outer, {"/sandbox": mounted}), OneMount(outer, "/sandbox", mounted))]
    assert seen[0] == seen[1]
