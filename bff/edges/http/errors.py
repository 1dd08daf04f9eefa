"""One JSON error shape for every failure: ``{code, status, message, errors?, errcode?}``.

Views raise ``flask_smorest.abort`` or a ``DomainError``; failures of WeChat and Redis are
mapped here, once. No stack trace, token or secret ever reaches a response.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from http import HTTPStatus
from typing import Any

import flask_smorest
import marshmallow as ma
import redis
from flask import Flask, Response, jsonify
from redis.exceptions import RedisClusterException
from werkzeug.exceptions import HTTPException

from bff.ground.errors import DomainError, wechat_failure
from bff.ground.observability import current_request_id
from bff.ground.wechat.credentials import CredentialStoreUnavailable
from bff.ground.wechat.errors import (
    WeChatError,
)

log = logging.getLogger(__name__)



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


MAX_FIELDS_IN_MESSAGE = 3


def _field_paths(errors: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(path, first message) of each invalid field, in the order marshmallow gave them:
    ``cards[0].card_id``; a list index as ``[i]``, a schema-wide error at its parent's path."""
    if isinstance(errors, dict):
        for key, value in errors.items():
            key = str(key)
            if key == "_schema":
                child = path
            elif key.isdigit():
                child = f"{path}[{key}]"
            else:
                child = f"{path}.{key}" if path else key
            yield from _field_paths(value, child)
    elif isinstance(errors, list | tuple):
        if errors and all(isinstance(m, str) for m in errors):
            yield path or "body", errors[0]
        else:
            for i, value in enumerate(errors):
                yield from _field_paths(value, f"{path}[{i}]")
    elif errors is not None:
        yield path or "body", str(errors)


def validation_message(errors: dict[str, Any]) -> str | None:
    """The top-level ``message`` of a 422: up to three field paths with their first message,
    e.g. ``cards[0].card_id: Not a valid string.``; None when ``errors`` names no field.

    ``errors`` is flask-smorest's ``{location: {field: messages}}``: a JSON body's fields are
    named bare, a query parameter as ``?name``, a header or path part with its location."""
    found: list[tuple[str, str]] = []
    for location, fields in errors.items():
        for path, message in _field_paths(fields):
            if location in ("json", "form", "files"):
                named = path
            elif location == "query":
                named = f"?{path}"
            else:
                named = f"{location} {path}"
            found.append((named, message))
    if not found:
        return None
    shown = "; ".join(f"{path}: {message}" for path, message in found[:MAX_FIELDS_IN_MESSAGE])
    more = len(found) - MAX_FIELDS_IN_MESSAGE
    return f"{shown}; …and {more} more" if more > 0 else shown


def wechat_error_response(e: WeChatError) -> Response:
    """Map a WeChat failure that the domain did not translate itself."""
    return domain_error_response(wechat_failure(e))


def domain_error_response(e: DomainError) -> Response:
    return error_response(e.status, e.message, errcode=e.errcode, retry_after=e.retry_after,
                          errors=getattr(e, "errors", None))


def init_app(app: Flask) -> None:
    """Install handlers; flask-smorest's own handler covers HTTPException with the same shape."""
    @app.errorhandler(DomainError)
    def _domain(e: DomainError) -> Response:
        return domain_error_response(e)

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
        message = data.get("message")
        if not message and e.code == 422 and isinstance(errors, dict):
            message = validation_message(errors)  # which field, and why
        message = message or e.description or HTTPStatus(e.code or 500).phrase
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
