"""Requests refused before any view runs: hostile JSON (too deep, integers past Python's
conversion limit, lone surrogates), a JSON body missing where one is required, and over-long
query strings. Each answers in the one error shape (``bff.edges.http.errors.error_response``)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, Request, Response, current_app, request

from bff.edges.http.errors import error_response

F = TypeVar("F", bound=Callable[..., Any])

MAX_JSON_DEPTH = 32  # no endpoint takes more than a few levels
MAX_JSON_BRACKETS = 64  # fewer brackets than this cannot nest too deeply: no second parse
MAX_JSON_INT_DIGITS = 4300  # Python's int/str conversion limit (sys.get_int_max_str_digits)
_LONG_DIGIT_RUN = re.compile(rb"[0-9]{%d}" % (MAX_JSON_INT_DIGITS + 1))


class _LongInteger(Exception):
    """An integer literal longer than Python converts (json.loads would raise ValueError)."""


def _bounded_int(literal: str) -> int:
    if len(literal.lstrip("-")) > MAX_JSON_INT_DIGITS:
        raise _LongInteger
    return int(literal)


def _json_refusal(data: Any) -> str | None:
    """Walk parsed JSON without recursion: too deep, or a string UTF-8 cannot encode."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return "The JSON body has an invalid \\u escape (lone surrogate)"
        elif isinstance(value, (dict, list)):
            if depth > MAX_JSON_DEPTH:
                return f"The JSON body is nested more than {MAX_JSON_DEPTH} levels deep"
            items = [*value.keys(), *value.values()] if isinstance(value, dict) else value
            stack.extend((v, depth + 1) for v in items)
    return None


def plainly_safe_json(body: bytes) -> bool:
    """No escape, fewer brackets than could nest too deeply, no over-long integer: a body the
    parser takes without a second look (``_hostile_json``)."""
    return (b"\\u" not in body and body.count(b"[") + body.count(b"{") < MAX_JSON_BRACKETS
            and not _LONG_DIGIT_RUN.search(body))


def _hostile_json(req: Request) -> Response | None:
    """Refuse JSON bodies the parser would turn into a 500 downstream, before any view runs.

    Three things break after or inside json.loads: nesting deep enough to raise RecursionError
    (in the arguments parser or marshmallow), ``\\ud800``-style escapes that decode to lone
    surrogates (redis-py and requests then fail to encode them), and integer literals of more
    than 4,300 digits (json.loads raises a ValueError the arguments parser does not expect). The
    byte checks keep ordinary bodies free of a second parse.
    """
    if not req.is_json:
        return None
    body = req.get_data(cache=True)
    if plainly_safe_json(body):
        return None
    try:
        refusal = _json_refusal(json.loads(body, parse_int=_bounded_int))
    except RecursionError:
        refusal = f"The JSON body is nested more than {MAX_JSON_DEPTH} levels deep"
    except _LongInteger:
        refusal = f"The JSON body has an integer of more than {MAX_JSON_INT_DIGITS} digits"
    except ValueError:
        return None  # the arguments parser answers malformed JSON with its own 400
    return error_response(400, refusal) if refusal else None


_VIEWS = "bff_request_views"  # app.extensions: (endpoint, method) -> _View


class _View:
    """What the gate reads from the function that answers an (endpoint, HTTP method): looked up
    once per app, not on every request (the routes are fixed once the app serves)."""

    __slots__ = ("method", "takes_json_body", "body_limit", "authenticate")

    def __init__(self, method: Any, blueprint: Any) -> None:
        self.method = method
        params = getattr(method, "_apidoc", {}).get("arguments", {}).get("parameters", [])
        self.takes_json_body = any(p.get("in") == "json" for p in params)
        self.body_limit: int | None = getattr(method, BODY_LIMIT_ATTRIBUTE, None)
        # the view's own authentication, else its blueprint's (a view that forgot its decorator)
        self.authenticate: Callable[[], Any] | None = (
            getattr(method, AUTHENTICATE_ATTRIBUTE, None)
            or getattr(blueprint, AUTHENTICATE_ATTRIBUTE, None))


def request_view(req: Request | None = None) -> _View:
    """The function this request reaches (a MethodView's method, else the view function)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if req is None:
        req = request._get_current_object()  # type: ignore[attr-defined]
    cache = app.extensions.get(_VIEWS)
    if cache is None:
        cache = app.extensions[_VIEWS] = {}
    key = (req.endpoint, req.method)
    found = cache.get(key)
    if found is None:
        view = app.view_functions.get(req.endpoint or "")
        view_class = getattr(view, "view_class", None)
        method = getattr(view_class, req.method.lower(), None) if view_class else view
        if method is None and view_class is not None and req.method == "HEAD":
            method = getattr(view_class, "get", None)  # Flask answers HEAD with the GET view
        found = cache[key] = _View(method, app.blueprints.get(req.blueprint or ""))
    return found


def _missing_json_body(view: _View, req: Request) -> Response | None:
    """A view that takes a JSON body gets one, or the caller a 415.

    Without it the arguments parser reads no body (or a body of another media type) as ``{}``,
    and a schema whose fields are all optional accepts it: an empty PUT emptied the whitelist.
    """
    if not view.takes_json_body:
        return None
    if req.is_json and req.get_data(cache=True).strip():
        return None
    return error_response(415, "a JSON body is required (Content-Type: application/json)")


MAX_QUERY_CHARS = 4096  # decoded, as the spec's maxLength counts; every documented query fits
MAX_QUERY_BYTES = 16384  # as sent (percent-encoded): a bound before anything is decoded


def refuse_long_query(req: Request | None = None) -> Response | None:
    """``before_request``: an over-long query string is a 414 in the one error shape.

    Counted in decoded characters, as the spec bounds each parameter, so a request the spec
    allows is never refused here. gunicorn answers request lines over its own limit (the
    Procfile raises it to 8190 bytes, its maximum) before the app sees them.
    """
    if req is None:
        req = request._get_current_object()  # type: ignore[attr-defined]
    raw = req.query_string
    if len(raw) > MAX_QUERY_BYTES or (
            len(raw) > MAX_QUERY_CHARS
            and sum(len(k) + len(v) + 2 for k, v in req.args.items(multi=True))
            > MAX_QUERY_CHARS):
        return error_response(414, f"the query string is longer than {MAX_QUERY_CHARS} "
                                   "characters")
    return None


BODY_LIMIT_ATTRIBUTE = "_bff_body_limit"
# The authentication a view (or, for views without one, its blueprint) is marked with: a
# callable that raises Unauthorized/Forbidden. @user_required and @admin_required set it.
AUTHENTICATE_ATTRIBUTE = "_bff_authenticate"


def body_limit(max_bytes: int) -> Callable[[F], F]:
    """A view that takes larger bodies than ``BFF_MAX_BODY_BYTES`` (a broadcast's 10,000
    openids): its own bound, or the setting when that is larger."""

    def mark(view: F) -> F:
        setattr(view, BODY_LIMIT_ATTRIBUTE, max_bytes)
        return view

    return mark


def authenticated_by(check: Callable[[], Any]) -> Callable[[F], F]:
    """Mark a view (or a blueprint) with the authentication the gate runs for it."""

    def mark(target: F) -> F:
        setattr(target, AUTHENTICATE_ATTRIBUTE, check)
        return target

    return mark


def gate() -> Response | None:
    """The one ``before_request`` gate, in this order:

    1. the view's own body bound (``@body_limit``);
    2. an over-long query string: 414;
    3. the authentication the view is marked with (``@user_required``, ``@roles``, or its
       blueprint's): 401/403 before anything about the body is said or read — an anonymous
       caller never makes the service parse its body;
    4. JSON the parser would turn into a 500: 400;
    5. a JSON body where the view takes one: 415.

    flask-smorest parses the arguments after this, so a caller without credentials never learns
    an endpoint's schema from a 415 or 422.
    """
    req = request._get_current_object()  # type: ignore[attr-defined]  # one lookup, not ten
    view = request_view(req)
    if view.body_limit is not None:
        req.max_content_length = max(view.body_limit,
                                     current_app.config["MAX_CONTENT_LENGTH"] or 0)
    refused = refuse_long_query(req)
    if refused is not None:
        return refused
    if view.authenticate is not None:
        view.authenticate()
    return _hostile_json(req) or _missing_json_body(view, req)


def init_app(app: Flask) -> None:
    """The gate runs before every view (after the request id is bound)."""
    app.before_request(gate)
