"""The refusals every floor raises: ``DomainError`` and its kinds, each with its HTTP status,
and the translation of WeChat's errcodes into them (``refusal``/``refusals``). The edge
(``bff.edges.http.errors``) turns them into the one JSON error shape."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bff.ground.wechat.errors import (
    Busy,
    ErrCode,
    QuotaExceeded,
    TokenInvalid,
    WeChatApiError,
    WeChatError,
    WeChatUnavailable,
)


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


class PayloadTooLarge(DomainError):
    status = 413


class UnsupportedMediaType(DomainError):
    status = 415


class Unprocessable(DomainError):
    status = 422


class TooManyRequests(DomainError):
    status = 429


class ServiceUnavailable(DomainError):
    status = 503


class BadGateway(DomainError):
    status = 502


class GatewayTimeout(DomainError):
    status = 504


def wechat_failure(e: WeChatError) -> DomainError:
    """The refusal a WeChat failure the domain did not translate itself maps to (one home:
    the edge's error handler and anything that relays a failure use it)."""
    if isinstance(e, WeChatUnavailable):
        if e.reason == "timeout":
            return GatewayTimeout("WeChat did not answer in time", retry_after=5)
        if e.http_status == 503:
            return ServiceUnavailable("WeChat is unavailable", retry_after=10)
        return BadGateway("WeChat could not be reached", retry_after=5)
    if isinstance(e, QuotaExceeded):
        if e.errcode == ErrCode.MINUTE_QUOTA:
            return TooManyRequests(
                "WeChat's per-minute call quota is used up; try again in a minute",
                errcode=e.errcode, retry_after=60)
        return ServiceUnavailable("WeChat's daily call quota for this API is used up",
                                  errcode=e.errcode, retry_after=3600)
    if isinstance(e, Busy):
        return ServiceUnavailable("WeChat is busy; try again", errcode=e.errcode, retry_after=2)
    if isinstance(e, TokenInvalid):
        return BadGateway("WeChat rejected the service's credential", errcode=e.errcode)
    if isinstance(e, WeChatApiError):
        return BadGateway(f"WeChat refused the request ({e.errcode}): {e.errmsg}",
                          errcode=e.errcode)
    return BadGateway("WeChat failed", errcode=getattr(e, "errcode", None))


# errcode -> (the error, its message); "{errmsg}" in a message stands for WeChat's errmsg.
Refusals = dict[int, tuple[type[DomainError], str]]


def refusal(e: WeChatApiError, table: Refusals) -> Exception:
    """A WeChat refusal in the domain's words when ``table`` lists its errcode, else ``e``
    itself, left to the app's mapping (``wechat_error_response``)."""
    found = table.get(e.errcode)
    if found is None:
        return e
    error, message = found
    return error(message.replace("{errmsg}", e.errmsg), errcode=e.errcode)


@contextmanager
def refusals(table: Refusals) -> Iterator[None]:
    """Raise ``refusal(e, table)`` for a WeChat refusal inside the block."""
    try:
        yield
    except WeChatApiError as e:
        translated = refusal(e, table)
        if translated is e:
            raise
        raise translated from None
