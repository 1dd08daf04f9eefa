"""Request helpers shared by the WeChat API views and the simulator views."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from contextvars import ContextVar
from functools import cached_property
from typing import Any

from flask import Blueprint, current_app, g, has_request_context, request
from flask.json.provider import DefaultJSONProvider as _JSON
from flask.wrappers import Request, Response

from bff.sandbox.cards import card_or_fail, find_code
from bff.sandbox.core import Sandbox, SimError, WeChatError, format_error

EXTENSION = "wxsandbox"


def sandbox() -> Sandbox:
    return current_app.extensions[EXTENSION]


# The request of a WeChat API call answered by the sandbox's own dispatch (app.py:
# ``SandboxFlask``), which pushes no Flask request context; None in Flask's.
LEAN_REQUEST: ContextVar[Request | None] = ContextVar("sandbox_lean_request", default=None)


def api_request() -> Request:
    """The HTTP request being answered: the same object (``flask.Request``), read the same way,
    whether the sandbox's own dispatch answers it or Flask's."""
    lean = LEAN_REQUEST.get()
    return request._get_current_object() if lean is None else lean  # type: ignore[attr-defined]


def in_request() -> bool:
    """Whether a request is being answered (its end will run the app's teardown)."""
    return LEAN_REQUEST.get() is not None or has_request_context()


def ok(**fields: Any) -> Response:
    """A WeChat success answer: what ``jsonify`` writes (Flask's default JSON provider: keys
    sorted, compact, a final newline), without its lookups of the app; every WeChat call
    answers through here."""
    text = json.dumps({"errcode": 0, "errmsg": "ok", **fields}, default=_JSON.default,
                      separators=(",", ":"), sort_keys=True)
    return Response(f"{text}\n", mimetype="application/json")


_UNREADABLE = object()
_NOT_UTF8 = object()


def _json_body() -> Any:
    """The parsed body, or ``_UNREADABLE``: malformed, nested too deep, or an over-long number;
    ``_NOT_UTF8`` for bytes that are not UTF-8 (WeChat reads UTF-8 only: json.loads alone
    would take UTF-16 and UTF-32 too)."""
    try:
        text = api_request().get_data().decode("utf-8")
    except UnicodeDecodeError:
        return _NOT_UTF8
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return _UNREADABLE


def wechat_body() -> dict[str, Any]:
    """The JSON body of a WeChat API call (WeChat ignores the Content-Type); 47001 for one that
    is not UTF-8 JSON (a GBK body, say), as WeChat answers a body it cannot read."""
    data = _json_body()
    if data is _NOT_UTF8:
        raise format_error("the body is not UTF-8")
    if not isinstance(data, dict):
        raise format_error()
    return data


def sim_body() -> dict[str, Any]:
    if not request.get_data():
        return {}
    data = _json_body()
    if data is _NOT_UTF8:
        raise SimError("the body must be UTF-8")
    if not isinstance(data, dict):
        raise SimError("the body must be a JSON object")
    return data


def user_request() -> tuple[Sandbox, dict[str, Any], dict[str, str]]:
    """A simulator request on a user's behalf: the sandbox, the body and the user its ``user``
    names (any of their ids; 404 when unknown)."""
    sb = sandbox()
    body = sim_body()
    return sb, body, sb.user_or_fail(body.get("user"))


_KINDS: dict[str, tuple[type | tuple[type, ...], str]] = {
    "str": (str, "a string"),
    "int": (int, "an integer"),
    "number": ((int, float), "a number"),
    "bool": (bool, "true or false"),
    "object": (dict, "an object"),
    "list": (list, "a list"),
}


def sim_field(body: dict[str, Any], name: str, kind: str, default: Any = None, *,
              low: float | None = None, high: float | None = None,
              choices: tuple[Any, ...] | None = None, nullable: bool = False) -> Any:
    """A simulator body field of the given JSON type and bounds, or ``SimError`` 422 saying why.

    The simulator validates like the service: a wrong type is refused, never a 500 later.
    """
    if name not in body or (body[name] is None and nullable):
        return default
    value = body[name]
    types, words = _KINDS[kind]
    if not isinstance(value, types) or (kind != "bool" and isinstance(value, bool)):
        raise SimError(f"{name} must be {words}", 422)
    if kind == "number" and not math.isfinite(value):
        raise SimError(f"{name} must be a finite number", 422)
    if choices is not None and value not in choices:
        raise SimError(f"{name} must be one of {', '.join(map(str, choices))}", 422)
    if low is not None and value < low or high is not None and value > high:
        raise SimError(f"{name} must be between {low} and {high}", 422)
    return value


def require_token() -> str:
    """Validate the ``access_token`` query parameter; returns the appid it belongs to."""
    token = api_request().args.get("access_token")
    if not token:
        raise WeChatError(41001, "access_token missing")
    sb = sandbox()
    read = g.get("sandbox_token")  # read with the call's first round trip (app.py)
    data = read[1] if read and read[0] == token else sb.r.hgetall(sb.keys.token(token))
    if not data:
        raise WeChatError(40001, "invalid credential, access_token is invalid or not latest")
    if float(data["expires_at"]) <= sb.clock.now():
        raise WeChatError(42001, "access_token expired")
    return data["appid"]


class WeChatCall:
    """A call to a WeChat API path whose access_token is valid: the appid it belongs to, and
    the JSON body, read when first used (so a bad token is reported before a bad body)."""

    def __init__(self, sb: Sandbox, appid: str) -> None:
        self.sb = sb
        self.appid = appid
        self.request = api_request()

    @cached_property
    def body(self) -> dict[str, Any]:
        return wechat_body()

    def card(self) -> dict[str, str]:
        """The body's ``card_id``: a card of the caller's appid, else 40073."""
        return card_or_fail(self.sb, self.body.get("card_id"), self.appid)

    def member_card(self, why: str = "not a member card") -> dict[str, str]:
        """The body's ``card_id``: a member card of the caller's appid, else 40073 or 47001."""
        card = self.card()
        if card["card_type"] != "MEMBER_CARD":
            raise format_error(why)
        return card

    def code(self, *, card_id_required: bool = False) -> tuple[dict[str, str], dict[str, str]]:
        """(card, code record) of the body's ``code`` (and ``card_id``), else 40056; 47001
        without ``card_id`` where the path requires it."""
        if card_id_required and not self.body.get("card_id"):
            raise format_error("card_id is required")
        return find_code(self.sb, self.appid, self.body.get("code"), self.body.get("card_id"))


def refuse_unless_oa(call: WeChatCall) -> None:
    """48001 for a call whose token is not the Official Account's: ``wechat_api(oa_only=True)``,
    or a handler that reads its body first (a body WeChat cannot read is then 47001 first)."""
    if call.appid != call.sb.config.oa_appid:
        raise WeChatError(48001, "api unauthorized")


def wechat_api(bp: Blueprint, path: str, *, method: str = "POST", oa_only: bool = False
               ) -> Callable[[Callable[[WeChatCall], Response]], Callable[[WeChatCall], Response]]:
    """Route a WeChat API path that takes an access_token: the view gets the checked call.

    ``oa_only``: an API of the Official Account alone; another appid's token is refused with
    48001 before the view runs (before its body is read). The route is answered by the
    sandbox's own dispatch (app.py: ``SandboxFlask``), so the view reads its request from
    ``call.request`` (or ``api_request()``), never from ``flask.request``.
    """
    def register(view: Callable[[WeChatCall], Response]) -> Callable[[WeChatCall], Response]:
        def endpoint() -> Response:
            call = WeChatCall(sandbox(), require_token())
            if oa_only:
                refuse_unless_oa(call)
            return view(call)

        endpoint.wechat_api_method = method  # type: ignore[attr-defined]
        bp.add_url_rule(path, view.__name__, endpoint, methods=[method])
        return view

    return register


def as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes")
    return bool(value)


def as_int(value: Any, default: int | None = None) -> int | None:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: 1e999 parses as inf
        raise format_error() from None
