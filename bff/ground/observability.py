"""One request, followed everywhere: request ids, log lines that carry them, JSON logs.

Every HTTP request gets an id: the caller's ``X-Request-Id`` when it is sane (1-128 characters of
``A-Za-z0-9._:-``), else a generated one (32 hex). It is echoed in the ``X-Request-Id`` response
header and in every JSON error body (``request_id``), and every log record written while the
request is handled carries it (``%(request_id)s``), including the WeChat calls it makes. A pushed
WeChat event keeps the id of the push request in its stream entry; the worker handles the entry
under the id ``event:<stream id>`` and logs which request brought it.

The id lives in a ``contextvars.ContextVar``: per thread and per greenlet (gevent), reset after
each request. A log record factory puts it on every record, whatever handler formats it.

``BFF_LOG_FORMAT=json`` writes one JSON object per line (python-json-logger) with ``time``,
``level``, ``logger``, ``message`` and ``request_id``. No log line anywhere contains a token, a
secret or a personal field; that rule is the callers' (they log ids, digests and errcodes only)
and is tested on both formats.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING

from flask import Flask, Response, request

if TYPE_CHECKING:
    from bff.ground.config import Settings

HEADER = "X-Request-Id"
_SANE = re.compile(r"[A-Za-z0-9._:-]{1,128}")
NO_REQUEST = "-"

request_id_var: ContextVar[str | None] = ContextVar("bff_request_id", default=None)

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def current_request_id() -> str | None:
    """The id of the request (or worker event) being handled in this context, if any."""
    return request_id_var.get()


def sane_request_id(value: str | None) -> str | None:
    """The caller's id if it is safe to echo and log (bounded, plain characters), else None."""
    if value and _SANE.fullmatch(value):
        return value
    return None


def new_request_id() -> str:
    """32 hex digits of the OS's randomness (uuid4's format without its version bits, at a
    quarter of its cost on every request)."""
    return os.urandom(16).hex()


@contextlib.contextmanager
def bound_request_id(request_id: str) -> Iterator[str]:
    """Handle something (e.g. a stream entry in the worker) under ``request_id``."""
    token = request_id_var.set(request_id)
    try:
        yield request_id
    finally:
        request_id_var.reset(token)


# -- logging ------------------------------------------------------------------------------------

_base_factory = logging.getLogRecordFactory()


def _record_factory(*args: object, **kwargs: object) -> logging.LogRecord:
    record = _base_factory(*args, **kwargs)
    record.request_id = request_id_var.get() or NO_REQUEST
    return record


def install_record_factory() -> None:
    """Every log record gets ``request_id`` (idempotent)."""
    if logging.getLogRecordFactory() is not _record_factory:
        logging.setLogRecordFactory(_record_factory)


def json_formatter() -> logging.Formatter:
    from pythonjsonlogger.json import JsonFormatter

    return JsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
    )


def formatter_for(log_format: str) -> logging.Formatter:
    return json_formatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)


def configure_logging(settings: Settings) -> None:
    """The root handler (stderr) in the chosen format; ``bff`` loggers at BFF_LOG_LEVEL.

    When something else (a test runner, an embedding program) installed root handlers, they are
    left alone: records still carry ``request_id``.
    """
    install_record_factory()
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(formatter_for(settings.log_format))
        handler._bff = True  # type: ignore[attr-defined]
        root.addHandler(handler)
        root.setLevel(settings.log_level.upper())
    else:
        for handler in root.handlers:
            if getattr(handler, "_bff", False):  # ours, from an earlier app in this process
                handler.setFormatter(formatter_for(settings.log_format))
    logging.getLogger("bff").setLevel(settings.log_level.upper())


# -- the request hooks --------------------------------------------------------------------------


# Kept in the WSGI environ, not in ``g``: a request the sandbox makes into the app in-process
# (a pushed event) shares the outer request's app context, hence its ``g``.
_ID, _TOKEN = "bff.request_id", "bff.request_id_token"
_ENVIRON_KEY = "HTTP_" + HEADER.upper().replace("-", "_")  # what request.headers.get reads


def begin_request(environ: dict, own_ids_under: tuple[str, ...] = ()) -> str:
    """Bind the id of the request ``environ`` describes: the caller's ``X-Request-Id`` unless
    the path is under ``own_ids_under`` (the operators', whose ids the audit records: an
    operator cannot stamp an action with another request's id), else a new one; the id bound
    before for the same environ, if any (the service's own key, which no header can set).
    Kept in the environ: ``end_request`` unbinds it."""
    rid = environ.get(_ID)  # bound before for this very request (a direct route's attempt)
    if rid is None:
        given = None if own_ids_under and environ.get("PATH_INFO", "").startswith(
            own_ids_under) else environ.get(_ENVIRON_KEY)
        rid = sane_request_id(given) or new_request_id()
    environ[_ID] = rid
    environ[_TOKEN] = request_id_var.set(rid)
    return rid


def end_request(environ: dict) -> None:
    """Unbind the request's id (``begin_request``)."""
    token = environ.pop(_TOKEN, None)
    if token is not None:
        try:
            request_id_var.reset(token)
        except ValueError:  # set in another context (cannot happen in one request): clear
            request_id_var.set(None)


def _beginning(own_ids_under: tuple[str, ...]) -> Callable[[], None]:
    """The first hook: ``begin_request``."""

    def _begin() -> None:
        begin_request(request.environ, own_ids_under)  # one proxy lookup

    return _begin


def _echo(response: Response) -> Response:
    rid = request.environ.get(_ID)
    if rid:
        response.headers[HEADER] = rid
    return response


def _end(_exc: BaseException | None) -> None:
    end_request(request.environ)


def init_app(app: Flask, own_ids_under: tuple[str, ...] = ()) -> None:
    """Give every request an id before any other hook runs; echo it on every answer. Under
    ``own_ids_under`` (path prefixes) the id is always the service's own."""
    app.before_request_funcs.setdefault(None, []).insert(0, _beginning(own_ids_under))
    app.after_request(_echo)
    app.teardown_request(_end)
