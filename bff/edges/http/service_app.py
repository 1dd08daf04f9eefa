"""The service's Flask class: Flask without the per-request work the service never uses.

- **No sessions.** The service keeps no state in cookies (a session is a Bearer token, read by
  ``bff.edges.http.user_auth``) and sets no ``SECRET_KEY``, so Flask's cookie session interface
  made a fresh ``NullSession`` for every request. ``NoSessions`` hands out one shared
  ``NullSession`` (it refuses every write, as before) and saves nothing.
- **``ensure_sync`` remembered.** Flask asks ``inspect.iscoroutinefunction`` of every hook and
  view on every request (five to ten times a request); the answer for a function never changes,
  so it is kept per function (a bound method is answered by its function).
- **No blueprint walk when no blueprint has hooks.** Flask's ``preprocess_request``,
  ``process_response`` and ``do_teardown_request`` each work out the request's blueprint chain
  (``request.blueprints``) to look up blueprint hooks; the service registers its hooks on the
  app only. Once the app serves (Flask then refuses new hooks), it checks once whether any
  blueprint hook or URL value preprocessor exists; if none does, the three run the app's own
  hooks in Flask's order without the walk, else Flask's own methods run.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from types import FunctionType, MethodType
from typing import Any

from flask import Flask
from flask.globals import request_ctx
from flask.sessions import NullSession, SessionInterface
from flask.signals import request_tearing_down
from werkzeug.http import parse_options_header
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from bff.ground.observability import HEADER, begin_request, end_request
from bff.ground.store import coalesce

_UNSET: Any = object()
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DirectAnswer:
    """What a direct route answers: a body and its media type, with 200."""

    body: bytes
    content_type: str


DirectRoute = Callable[[dict], DirectAnswer | None]
# What a direct route found that the view must answer instead (a refusal, the exception its work
# ended in): the route leaves it in the environ, under the service's own key (no header can set
# it), and the view answers it without doing the work again.
FOUND = "bff.direct.found"


def media_type(environ: dict) -> str:
    """The request's media type as werkzeug's ``request.mimetype`` reads it (its own parser: a
    direct route and the view must agree on every Content-Type)."""
    return parse_options_header(environ.get("CONTENT_TYPE", ""))[0].lower()


class NoSessions(SessionInterface):
    """No cookie sessions: every request gets the one ``NullSession`` (writes raise)."""

    _null = NullSession()

    def open_session(self, app: Flask, request: Any) -> NullSession:
        return self._null

    def save_session(self, app: Flask, session: Any, response: Any) -> None:
        return None


class ServiceFlask(Flask):
    session_interface = NoSessions()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._sync_functions: dict[Callable[..., Any], bool] = {}
        self._app_hooks_only: bool | None = None
        self.direct_routes: dict[tuple[str, str], DirectRoute] = {}
        super().__init__(*args, **kwargs)

    def add_direct_route(self, method: str, path: str, handler: DirectRoute) -> None:
        """``handler(environ)`` answers ``method path`` first (see the module); its ``None``
        hands the request to Flask, which must find it as it came (the body unread, or put
        back). The request's id is bound around it, as Flask's first hook binds it."""
        self.direct_routes[(method, path)] = handler

    def wsgi_app(self, environ: dict, start_response: Any) -> Any:
        # writes a request defers (a cache fill) go with its next round trip, or at its end
        with coalesce.later_scope():
            return self._answer(environ, start_response)

    def _answer(self, environ: dict, start_response: Any) -> Any:
        if self.direct_routes:
            handler = self.direct_routes.get((environ.get("REQUEST_METHOD", ""),
                                              environ.get("PATH_INFO", "")))
            if handler is not None:
                answer = self._direct(handler, environ, start_response)
                if answer is not None:
                    return answer
        return super().wsgi_app(environ, start_response)

    @staticmethod
    def _direct(handler: DirectRoute, environ: dict, start_response: Any) -> list[bytes] | None:
        rid = begin_request(environ)
        try:
            try:
                answer = handler(environ)
            except Exception as e:  # noqa: BLE001 - Flask serves it, with the one error shape
                log.warning("a direct route failed (%s): Flask answers the request",
                            type(e).__name__)
                answer = None
            if answer is None:
                return None
            start_response("200 OK", [("Content-Type", answer.content_type),
                                      ("Content-Length", str(len(answer.body))),
                                      (HEADER, rid)])
            return [answer.body]
        finally:
            end_request(environ)  # Flask's own hook binds the same id again

    def _only_app_hooks(self) -> bool:
        """No blueprint-level request hook and no URL value preprocessor (asked once serving:
        Flask refuses new hooks after the first request)."""
        only = self._app_hooks_only
        if only is None:
            only = not self.url_value_preprocessors and all(
                name is None for hooks in (self.before_request_funcs, self.after_request_funcs,
                                           self.teardown_request_funcs)
                for name, funcs in hooks.items() if funcs)
            if self._got_first_request:
                self._app_hooks_only = only
        return only

    def preprocess_request(self) -> Any:
        if not self._only_app_hooks():
            return super().preprocess_request()
        for before_func in self.before_request_funcs.get(None, ()):
            rv = self.ensure_sync(before_func)()
            if rv is not None:
                return rv
        return None

    def process_response(self, response: Any) -> Any:
        if not self._only_app_hooks():
            return super().process_response(response)
        ctx = request_ctx._get_current_object()  # type: ignore[attr-defined]
        for func in ctx._after_request_functions:
            response = self.ensure_sync(func)(response)
        for func in reversed(self.after_request_funcs.get(None, ())):
            response = self.ensure_sync(func)(response)
        if not self.session_interface.is_null_session(ctx._session):
            self.session_interface.save_session(self, ctx._session, response)
        return response

    def do_teardown_request(self, exc: BaseException | None = _UNSET) -> None:
        if not self._only_app_hooks():
            if exc is _UNSET:
                return super().do_teardown_request()
            return super().do_teardown_request(exc)
        if exc is _UNSET:
            exc = sys.exc_info()[1]
        for func in reversed(self.teardown_request_funcs.get(None, ())):
            self.ensure_sync(func)(exc)
        request_tearing_down.send(self, _async_wrapper=self.ensure_sync, exc=exc)
        return None

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        plain = func.__func__ if type(func) is MethodType else func
        if type(plain) is FunctionType:
            is_sync = self._sync_functions.get(plain)
            if is_sync is None:
                is_sync = self._sync_functions[plain] = super().ensure_sync(plain) is plain
            if is_sync:
                return func
        return super().ensure_sync(func)


class OneMount(DispatcherMiddleware):
    """werkzeug's ``DispatcherMiddleware`` for one mount (sandbox mode's ``/sandbox``), with the
    same environ for every path: the service's own paths go through untouched, without the
    segment-by-segment walk werkzeug does for every request (~2 us)."""

    def __init__(self, app: Any, prefix: str, mounted: Any) -> None:
        super().__init__(app, {prefix: mounted})
        self.prefix, self.mounted = prefix, mounted

    def __call__(self, environ: dict, start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        prefix = self.prefix
        if path.startswith(prefix) and (len(path) == len(prefix) or path[len(prefix)] == "/"):
            environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + prefix
            environ["PATH_INFO"] = path[len(prefix):]
            return self.mounted(environ, start_response)
        return self.app(environ, start_response)
