"""A hot view's well-formed request, answered without flask-smorest's and webargs' wrappers.

flask-smorest's decorators (arguments, response, alt_response) and webargs' parser cost ~16 us
of CPU per add-card request in process (~109,000 instructions of ~1,140,000: bench/RESULTS.md,
issue 18 second pass): the location lookup, wrapper frames each asking ``ensure_sync``, the
schema calls.
``FastJsonView`` keeps the decorated method as the one place the spec and every refusal come
from, and answers only what it can answer the same way:

- the body is ``application/json``, UTF-8, and parses (as webargs parses it: ``json.loads`` of
  the decoded text);
- the view's ``fast_load`` (a hand-written load that is tested equal to the schema's) accepts
  it;

then the view's ``fast_call(data)`` runs, below flask-smorest's wrappers but with the same
checks as the decorated method (authentication, quota), and its result is dumped by the
response schema and sent with ``jsonify`` and the documented status, as flask-smorest's
``response`` wrapper does. Anything else (another media type, malformed JSON, a body the fast
load refuses) goes through the decorated method, which gives its 400/415/422 unchanged.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any, ClassVar

from flask import Flask, Response, current_app, request
from flask.json.provider import DefaultJSONProvider
from flask.views import MethodView
from marshmallow import Schema
from werkzeug.sansio.utils import get_content_length

from bff.edges.http.request_guard import plainly_safe_json
from bff.edges.http.service_app import FOUND, media_type

_ENCODERS: dict[tuple, json.JSONEncoder] = {}


def json_encoder(app: Flask) -> json.JSONEncoder | None:
    """An encoder that writes what ``jsonify`` writes (one per set of the provider's options);
    None for another provider or the indented (debug) form (``app.json`` then).

    Flask's default provider calls ``json.dumps`` with keyword arguments, which builds a new
    encoder for every answer; the same encoder is reused here while the provider's options are
    the same."""
    provider = app.json
    if type(provider) is not DefaultJSONProvider or provider.compact is False or (
            provider.compact is None and app.debug):
        return None
    options = (provider.default, provider.ensure_ascii, provider.sort_keys)
    encoder = _ENCODERS.get(options)
    if encoder is None:
        encoder = _ENCODERS[options] = json.JSONEncoder(
            default=options[0], ensure_ascii=options[1], sort_keys=options[2],
            separators=(",", ":"))
    return encoder


def json_text(encoder: json.JSONEncoder, obj: Any) -> str:
    """The text ``jsonify(obj)`` answers, byte for byte (``json_encoder``)."""
    return f"{encoder.encode(obj)}\n"


def jsonify_fast(app: Flask, obj: Any) -> Response:
    """``jsonify(obj)``, byte for byte (``json_encoder``)."""
    encoder = json_encoder(app)
    if encoder is None:
        return app.json.response(obj)
    return app.response_class(json_text(encoder, obj), mimetype=app.json.mimetype)


def environ_json_body(environ: dict, limit: int) -> Any:
    """The body of a direct route's request as ``plain_json_body`` loads it, or ``_NOT_JSON``:
    ``application/json``, a Content-Length werkzeug reads (no chunked body) within ``limit``,
    UTF-8, and JSON the gate lets through without a second look (``plainly_safe_json``). The
    body read is put back for the view."""
    if media_type(environ) != "application/json":
        return _NOT_JSON
    length = get_content_length(environ.get("CONTENT_LENGTH"),
                                environ.get("HTTP_TRANSFER_ENCODING"))
    if not length or length > limit:
        return _NOT_JSON
    data = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = io.BytesIO(data)  # the view reads it again if it answers
    if len(data) != length or not plainly_safe_json(data):
        return _NOT_JSON
    try:
        return json.loads(data.decode("utf-8"))
    except ValueError:  # UnicodeDecodeError, JSONDecodeError: the view's own 400
        return _NOT_JSON


_NOT_JSON: Any = object()


def plain_json_body() -> Any:
    """The request's JSON body as webargs would load it, or ``None`` (not plainly JSON)."""
    req = request._get_current_object()  # type: ignore[attr-defined]
    if req.mimetype != "application/json":
        return None
    try:
        return json.loads(req.get_data(cache=True).decode("utf-8"))
    except ValueError:  # UnicodeDecodeError, JSONDecodeError: the parser's own 400
        return None


class FastJsonView(MethodView):
    """A MethodView whose ``fast_method`` (e.g. ``"POST"``) has a fast path (see the module)."""

    init_every_request = False  # no state on the instance: one per app
    fast_method: ClassVar[str] = "POST"
    fast_status: ClassVar[int] = 200
    fast_schema: ClassVar[Schema]  # the response schema (as given to ``blp.response``)

    @staticmethod
    def fast_load(data: Any) -> dict | None:  # pragma: no cover - every subclass has its own
        raise NotImplementedError

    fast_call: ClassVar[Callable[[dict], Any]]

    def dispatch_request(self, **kwargs: Any) -> Any:
        found = request.environ.pop(FOUND, None)
        if found is not None:  # the direct route's work ended in it: answered here, once
            raise found
        if request.method == self.fast_method and not kwargs:
            body = plain_json_body()
            data = self.fast_load(body) if body is not None else None
            if data is not None:
                answer = jsonify_fast(current_app._get_current_object(),  # type: ignore[attr-defined]
                                      self.fast_schema.dump(type(self).fast_call(data)))
                answer.status_code = self.fast_status
                return answer
        return super().dispatch_request(**kwargs)
