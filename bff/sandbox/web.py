"""Request helpers shared by the WeChat API views and the simulator views."""

from __future__ import annotations

import json
import math
from typing import Any

from flask import current_app, jsonify, request
from flask.wrappers import Response

from bff.sandbox.core import Sandbox, SimError, WeChatError

EXTENSION = "wxsandbox"


def sandbox() -> Sandbox:
    return current_app.extensions[EXTENSION]


def ok(**fields: Any) -> Response:
    """A WeChat success answer."""
    return jsonify({"errcode": 0, "errmsg": "ok", **fields})


_UNREADABLE = object()


def _json_body() -> Any:
    """The parsed body, or ``_UNREADABLE``: malformed, nested too deep, or an over-long number."""
    try:
        return json.loads(request.get_data())
    except (ValueError, RecursionError):
        return _UNREADABLE


def wechat_body() -> dict[str, Any]:
    """The JSON body of a WeChat API call (WeChat ignores the Content-Type)."""
    data = _json_body()
    if not isinstance(data, dict):
        raise WeChatError(47001, "data format error")
    return data


def sim_body() -> dict[str, Any]:
    if not request.get_data():
        return {}
    data = _json_body()
    if not isinstance(data, dict):
        raise SimError("the body must be a JSON object")
    return data


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
    token = request.args.get("access_token")
    if not token:
        raise WeChatError(41001, "access_token missing")
    sb = sandbox()
    data = sb.r.hgetall(sb.keys.token(token))
    if not data:
        raise WeChatError(40001, "invalid credential, access_token is invalid or not latest")
    if float(data["expires_at"]) <= sb.clock.now():
        raise WeChatError(42001, "access_token expired")
    return data["appid"]


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
        raise WeChatError(47001, "data format error") from None
