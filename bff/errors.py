"""One JSON error shape for every failure: ``{code, status, message, errors?, errcode?}``.

Views raise ``flask_smorest.abort`` or a ``DomainError``; failures of WeChat and Redis are
mapped here, once. No stack trace, token or secret ever reaches a response.
"""

from __future__ import annotations

import json
import logging
import re
from http import HTTPStatus
from typing import Any

import flask_smorest
import marshmallow as ma
import redis
from flask import Flask, Response, current_app, jsonify, request
from redis.exceptions import RedisClusterException
from werkzeug.exceptions import HTTPException

from bff.observability import current_request_id
from bff.wechat.credentials import CredentialStoreUnavailable
from bff.wechat.errors import (
    Busy,
    ErrCode,
    QuotaExceeded,
    TokenInvalid,
    WeChatApiError,
    WeChatError,
    WeChatUnavailable,
)

log = logging.getLogger(__name__)


class DomainError(Exception):
    """A refusal the domain explains in words; ``status`` is the HTTP status it maps to."""

    status = 400

    def __init__(self, message: str, *, errcode: int | None = None, retry_after: int | None = None,
                 errors: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.errcode = errcode
        self.retry_after = retry_after
        self.errors = errors


class BadRequest(DomainError):
    status = 400


class Unauthorized(DomainError):
    status = 401


class Forbidden(DomainError):
    status = 403


class NotFound(DomainError):
    status = 404


class Conflict(DomainError):
    status = 409


class Unprocessable(DomainError):
    status = 422


class TooManyRequests(DomainError):
    status = 429


class ServiceUnavailable(DomainError):
    status = 503


class ErrorSchema(ma.Schema):
    """The one error shape (every 4xx/5xx answer of the service)."""

    code = ma.fields.Integer(required=True, metadata={"description": "HTTP status code"})
    status = ma.fields.String(required=True, metadata={"description": "HTTP status phrase"})
    message = ma.fields.String(required=True, metadata={"description": "What went wrong"})
    errors = ma.fields.Dict(metadata={"description": "Per-field validation messages"})
    errcode = ma.fields.Integer(metadata={"description": "WeChat's errcode, when WeChat refused"})
    request_id = ma.fields.String(metadata={
        "description": "The request's id (also the X-Request-Id header): quote it when "
                       "reporting a failure; every log line of the request carries it"})


class Api(flask_smorest.Api):
    """flask-smorest's Api with the service's error schema in the spec."""

    ERROR_SCHEMA = ErrorSchema


def error_response(
    status: int,
    message: str,
    *,
    errors: dict[str, Any] | None = None,
    errcode: int | None = None,
    retry_after: int | None = None,
) -> Response:
    body: dict[str, Any] = {
        "code": status,
        "status": HTTPStatus(status).phrase,
        "message": message,
    }
    if errors:
        body["errors"] = errors
    if errcode is not None:
        body["errcode"] = errcode
    request_id = current_request_id()
    if request_id:
        body["request_id"] = request_id
    response = jsonify(body)
    response.status_code = status
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


def wechat_error_response(e: WeChatError) -> Response:
    """Map a WeChat failure that the domain did not translate itself."""
    if isinstance(e, WeChatUnavailable):
        if e.reason == "timeout":
            return error_response(504, "WeChat did not answer in time", retry_after=5)
        if e.http_status == 503:
            return error_response(503, "WeChat is unavailable", retry_after=10)
        return error_response(502, "WeChat could not be reached", retry_after=5)
    if isinstance(e, QuotaExceeded):
        if e.errcode == ErrCode.MINUTE_QUOTA:
            return error_response(
                429, "WeChat's per-minute call quota is used up; try again in a minute",
                errcode=e.errcode, retry_after=60,
            )
        return error_response(
            503, "WeChat's daily call quota for this API is used up",
            errcode=e.errcode, retry_after=3600,
        )
    if isinstance(e, Busy):
        return error_response(503, "WeChat is busy; try again", errcode=e.errcode, retry_after=2)
    if isinstance(e, TokenInvalid):
        return error_response(502, "WeChat rejected the service's credential", errcode=e.errcode)
    if isinstance(e, WeChatApiError):
        return error_response(
            502, f"WeChat refused the request ({e.errcode}): {e.errmsg}", errcode=e.errcode
        )
    return error_response(502, "WeChat failed", errcode=getattr(e, "errcode", None))


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


def _hostile_json() -> Response | None:
    """Refuse JSON bodies the parser would turn into a 500 downstream, before any view runs.

    Three things break after or inside json.loads: nesting deep enough to raise RecursionError
    (in the arguments parser or marshmallow), ``\\ud800``-style escapes that decode to lone
    surrogates (redis-py and requests then fail to encode them), and integer literals of more
    than 4,300 digits (json.loads raises a ValueError the arguments parser does not expect). The
    byte checks keep ordinary bodies free of a second parse.
    """
    if not request.is_json:
        return None
    body = request.get_data(cache=True)
    if (b"\\u" not in body and body.count(b"[") + body.count(b"{") < MAX_JSON_BRACKETS
            and not _LONG_DIGIT_RUN.search(body)):
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


def _takes_json_body() -> bool:
    """Whether the view this request reaches declares a JSON body (``@blp.arguments``)."""
    view = current_app.view_functions.get(request.endpoint or "")
    view_class = getattr(view, "view_class", None)
    method = getattr(view_class, request.method.lower(), None) if view_class else view
    params = getattr(method, "_apidoc", {}).get("arguments", {}).get("parameters", [])
    return any(p.get("in") == "json" for p in params)


def refuse_missing_json_body() -> Response | None:
    """``before_request``: a view that takes a JSON body gets one, or the caller a 415.

    Without it the arguments parser reads no body (or a body of another media type) as ``{}``,
    and a schema whose fields are all optional accepts it: an empty PUT emptied the whitelist.
    It runs after authentication, so a caller without credentials gets 401 first: operator
    blueprints (``checks_json_body``) run it after their token check, the app for the others.
    """
    if not _takes_json_body():
        return None
    if request.is_json and request.get_data(cache=True).strip():
        return None
    return error_response(415, "a JSON body is required (Content-Type: application/json)")


def refuse_missing_json_body_outside_checking_blueprints() -> Response | None:
    """The app-level hook: blueprints that run ``refuse_missing_json_body`` themselves skip it."""
    blueprint = current_app.blueprints.get(request.blueprint or "")
    if getattr(blueprint, "checks_json_body", False):
        return None
    return refuse_missing_json_body()


MAX_QUERY_CHARS = 4096  # decoded, as the spec's maxLength counts; every documented query fits
MAX_QUERY_BYTES = 16384  # as sent (percent-encoded): a bound before anything is decoded


def refuse_long_query() -> Response | None:
    """``before_request``: an over-long query string is a 414 in the one error shape.

    Counted in decoded characters, as the spec bounds each parameter, so a request the spec
    allows is never refused here. gunicorn answers request lines over its own limit (the
    Procfile raises it to 8190 bytes, its maximum) before the app sees them.
    """
    raw = request.query_string
    if len(raw) > MAX_QUERY_BYTES or (
            len(raw) > MAX_QUERY_CHARS
            and sum(len(k) + len(v) + 2 for k, v in request.args.items(multi=True))
            > MAX_QUERY_CHARS):
        return error_response(414, f"the query string is longer than {MAX_QUERY_CHARS} "
                                   "characters")
    return None


def init_app(app: Flask) -> None:
    """Install handlers; flask-smorest's own handler covers HTTPException with the same shape."""
    app.before_request(refuse_long_query)
    app.before_request(_hostile_json)

    @app.errorhandler(DomainError)
    def _domain(e: DomainError) -> Response:
        return error_response(
            e.status, e.message, errcode=e.errcode, retry_after=e.retry_after,
            errors=getattr(e, "errors", None),
        )

    @app.errorhandler(WeChatError)
    def _wechat(e: WeChatError) -> Response:
        log.warning("wechat failure path=%s errcode=%s", e.path, e.errcode)
        return wechat_error_response(e)

    @app.errorhandler(redis.RedisError)
    @app.errorhandler(RedisClusterException)  # e.g. a slot without a master during a failover
    def _redis(e: Exception) -> Response:
        log.error("redis failure: %s", type(e).__name__)
        return error_response(503, "Storage is unavailable; try again shortly", retry_after=5)

    @app.errorhandler(CredentialStoreUnavailable)
    def _cred_store(e: CredentialStoreUnavailable) -> Response:
        log.error("credential store unavailable")
        return error_response(503, "Storage is unavailable; try again shortly", retry_after=5)

    @app.errorhandler(HTTPException)
    def _http(e: HTTPException) -> Response:
        data = getattr(e, "data", None) or {}
        errors = data.get("errors") or data.get("messages")
        message = data.get("message") or e.description or HTTPStatus(e.code or 500).phrase
        response = error_response(e.code or 500, str(message), errors=errors)
        if e.code == 405 and e.response is None:
            allow = e.get_headers()
            for k, v in allow:
                if k.lower() == "allow":
                    response.headers["Allow"] = v
        return response

    @app.errorhandler(Exception)
    def _unexpected(e: Exception) -> Response:
        log.exception("unhandled error: %s", type(e).__name__)
        return error_response(500, "Internal error; it has been logged")
