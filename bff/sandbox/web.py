"""Request helpers shared by the WeChat API views and the simulator views."""

from __future__ import annotations

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


def wechat_body() -> dict[str, Any]:
    """The JSON body of a WeChat API call (WeChat ignores the Content-Type)."""
    data = request.get_json(force=True, silent=True)
    if not isinstance(data, dict):
        raise WeChatError(47001, "data format error")
    return data


def sim_body() -> dict[str, Any]:
    if not request.get_data():
        return {}
    data = request.get_json(force=True, silent=True)
    if not isinstance(data, dict):
        raise SimError("the body must be a JSON object")
    return data


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
    except (TypeError, ValueError):
        raise WeChatError(47001, "data format error") from None
