"""The generated OpenAPI spec says every answer and every constraint the code enforces.

flask-smorest still generates the spec; this module adds what marshmallow cannot say:

- every documented error response carries the one error schema (``bff.ground.errors.ErrorSchema``);
- ``SpecTruthPlugin`` (an apispec plugin):
  * an operation with a security requirement documents 401;
  * an operation with a JSON body documents 415 (no JSON body) and 422 (invalid body), one
    with query parameters 414 (over-long query string), one taking an Idempotency-Key a 422
    for a key already used for another request;
  * every documented 4xx/5xx answer carries the error schema;
  * a marshmallow schema's ``Meta.openapi`` (e.g. ``one_of_required("code", "encrypt_code")``)
    is merged into its component, for rules across fields (exactly one of, at least one of);
  * a request schema's ``example`` (``bff.edges.http.openapi_docs.REQUEST_EXAMPLES``), what /docs
  shows;
- the overview at the top of /docs (``info.description``, ``bff.edges.http.openapi_docs.OVERVIEW``);
- ``documents(...)``: a view decorator adding documented answers without a body of their own,
  used by the authentication decorators and for upstream failures (``UPSTREAM_FAILURES``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from copy import deepcopy
from typing import Any

from apispec import APISpec, BasePlugin

from bff.domain.once import KEY_REUSED
from bff.edges.http.fields import register_converters
from bff.edges.http.idempotency import HEADER as IDEMPOTENCY_HEADER
from bff.edges.http.openapi_docs import OVERVIEW, REQUEST_EXAMPLES

# Security scheme names in components.securitySchemes (declared in create_app).
SESSION_SCHEME = "bearerAuth"  # a session token from POST /v1/sessions/*
ADMIN_SCHEME = "adminAuth"  # an operator's token (bff operators add) or BFF_ADMIN_TOKEN
CONSOLE_SCHEME = "consoleAuth"  # the console's session cookie (POST /v1/admin/session)
METRICS_SCHEME = "metricsAuth"  # BFF_METRICS_TOKEN

# What the error handlers in bff.ground.errors answer when WeChat or Redis fail.
UPSTREAM_FAILURES = {
    429: "WeChat's per-minute call quota is used up (Retry-After)",
    502: "WeChat refused the service's request or could not be reached",
    503: "WeChat is busy, its daily quota is used up, or storage is unavailable (Retry-After)",
    504: "WeChat did not answer in time (Retry-After)",
}
STORAGE_FAILURE = {503: "storage is unavailable; retry shortly (Retry-After)"}
UNKNOWN_CARD_ANSWER = {404: "unknown card_id: WeChat knows no card with it (40073)"}
# What a WeChat call about one card may answer besides its own answers (a fallbacks tuple).
CARD_CALL_FAILURES = (UNKNOWN_CARD_ANSWER, UPSTREAM_FAILURES)
# A card that cannot be issued yet or any more (bff.domain.catalogue.ensure_issuable_id).
NOT_ISSUABLE_ANSWER = {409: "a card has not passed WeChat's review, was refused, or is deleted"}
# Redeeming a code once, at the counter or by its holder (bff.domain.redemption).
REDEMPTION_ANSWERS = {
    404: "unknown code (40056)",
    409: "already redeemed (when, where, by whom at a counter, through which channel), deleted "
         "or being given away",
    422: "invalid body, or an Idempotency-Key already used for another code",
    503: "another request is redeeming this code; retry",
}
# Every operation taking an Idempotency-Key: the key bound to another request is a 422
# (bff.domain.once); a request while the first with its key runs waits, then 503.
ONCE_ANSWERS = {503: "the first request with the same key (Idempotency-Key, activate_ticket) is "
                     "still running; or WeChat is busy, its daily quota is used up, or storage "
                     "is unavailable; retry (Retry-After)"}
FALLBACK_KEY = "x-bff-fallback-responses"  # documents() -> SpecTruthPlugin; never in the spec
ROLES_KEY = "x-bff-roles"  # the operator roles an endpoint allows (bff.edges.http.admin_auth.roles)


def at_least_one_of(names: Iterable[str], objects: Iterable[str] = ()) -> dict[str, Any]:
    """``Meta.openapi`` for "at least one of these fields" (an object field must not be empty)."""
    objects = set(objects)
    return {"anyOf": [
        {"required": [name], **({"properties": {name: {"minProperties": 1}}}
                                if name in objects else {})}
        for name in names
    ]}


def documents(*answers: dict[int, str], security: list[dict[str, list]] | None = None,
              own: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Document answers (and a security requirement) on a view, in any decorator position.

    By default the answers are fallbacks (authentication, upstream and storage failures): a
    status the view documents itself keeps its own description, and an earlier fallback wins
    over a later one. ``own=True`` makes them the view's own answers, as ``blp.alt_response``
    would: they replace the generic descriptions (flask-smorest's 422, the fallbacks).
    ``SpecTruthPlugin`` adds the fallbacks still missing.
    """

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return view(*args, **kwargs)

        doc = deepcopy(getattr(view, "_apidoc", {}))
        manual = doc.setdefault("manual_doc", {})
        fallbacks = manual.setdefault(FALLBACK_KEY, {})
        for status, description in (item for answer in answers for item in answer.items()):
            if own:
                manual.setdefault("responses", {})[status] = {"description": description}
            else:
                fallbacks.setdefault(str(status), description)
        if security is not None:
            manual["security"] = security
        wrapper._apidoc = doc  # type: ignore[attr-defined]
        return wrapper

    return decorator


class SpecTruthPlugin(BasePlugin):
    """Completes each operation's answers and merges ``Meta.openapi`` into schema components."""

    def init_spec(self, spec: APISpec) -> None:
        self.spec = spec

    def schema_helper(self, name: str, definition: dict, **kwargs: Any) -> dict | None:
        schema = kwargs.get("schema")
        cls = schema if isinstance(schema, type) else type(schema)
        extra = getattr(getattr(cls, "Meta", None), "openapi", None)
        if extra:
            definition.update(deepcopy(extra))
        if name in REQUEST_EXAMPLES:  # else Swagger UI makes one from the types ("string", 0)
            definition["example"] = deepcopy(REQUEST_EXAMPLES[name])
        return None

    def operation_helper(self, path: str | None = None, operations: dict | None = None,
                         **kwargs: Any) -> None:
        for operation in (operations or {}).values():
            if isinstance(operation, dict):
                _complete_answers(operation)


def _has(responses: dict, status: int) -> bool:
    return status in responses or str(status) in responses


def _complete_answers(operation: dict) -> None:
    responses = operation.setdefault("responses", {})
    if operation.get(ROLES_KEY):
        said = operation.get("description", "")
        operation["description"] = (f"{said}\n\n" if said else "") + (
            f"**Roles:** {', '.join(operation[ROLES_KEY])} (other operators get 403).")
    for status, description in operation.pop(FALLBACK_KEY, {}).items():
        if not _has(responses, int(status)):
            responses[status] = {"description": description}
    if operation.get("security") and not _has(responses, 401):
        responses["401"] = {"description": "no valid credentials (Authorization: Bearer ...)"}
    if any(p.get("in") == "query" for p in operation.get("parameters", [])
           if isinstance(p, dict)) and not _has(responses, 414):
        responses["414"] = {"description": "the query string is longer than 4096 characters"}
    body = operation.get("requestBody") or {}
    if "application/json" in body.get("content", {}):
        if not _has(responses, 415):
            responses["415"] = {"description": "no JSON body (Content-Type: application/json)"}
        if not _has(responses, 422):
            responses["422"] = "UNPROCESSABLE_ENTITY"
    if any(p.get("in") == "header" and p.get("name") == IDEMPOTENCY_HEADER
           for p in operation.get("parameters", []) if isinstance(p, dict)):
        _document_key_reuse(responses)
    for status, answer in responses.items():
        if str(status) == "default" or int(status) < 400 or not isinstance(answer, dict):
            continue
        if "content" not in answer and "$ref" not in answer:
            answer["content"] = {"application/json": {"schema": "Error"}}


def _document_key_reuse(responses: dict) -> None:
    """The 422 of an operation taking an Idempotency-Key says the key may be bound already."""
    status = "422" if "422" in responses else 422
    answer = responses.get(status)
    if not isinstance(answer, dict):  # none, or flask-smorest's generic one
        responses.pop(status, None)
        responses["422"] = {"description": f"invalid request, or {KEY_REUSED}"}
    elif IDEMPOTENCY_HEADER not in answer.get("description", ""):
        answer["description"] = f"{answer.get('description', 'invalid request')}, or {KEY_REUSED}"


def security_schemes() -> Iterable[tuple[str, dict[str, str]]]:
    """The schemes: sessions of users, the operators' tokens and console cookie, metrics."""
    yield SESSION_SCHEME, {"type": "http", "scheme": "bearer",
                           "description": "a session token from POST /v1/sessions/*"}
    yield ADMIN_SCHEME, {"type": "http", "scheme": "bearer",
                         "description": "an operator's own token (bff operators add; its role "
                                        "decides what it may call), or BFF_ADMIN_TOKEN (the "
                                        "break-glass admin)"}
    yield CONSOLE_SCHEME, {"type": "apiKey", "in": "cookie", "name": "bff_console",
                           "description": "a console session, opened by POST /v1/admin/session "
                                          "(HttpOnly, SameSite=Strict; ends after "
                                          "BFF_CONSOLE_IDLE_SECONDS unused). A request that "
                                          "changes state (not GET/HEAD) also sends the header "
                                          "X-CSRF-Token: the session's csrf_token, else 403"}
    yield METRICS_SCHEME, {"type": "http", "scheme": "bearer",
                           "description": "the metrics scraper's token (BFF_METRICS_TOKEN)"}


def build_api(app: Any) -> Any:
    """``bff.edges.http.errors.Api`` with both security schemes, ``<card_id:...>`` and the
    plugin."""
    from bff.edges.http.errors import Api  # its ERROR_SCHEMA is the one error shape

    api = Api(app, spec_kwargs={"extra_plugins": [SpecTruthPlugin()],
                                "info": {"description": OVERVIEW}})
    register_converters(app, api)
    for name, scheme in security_schemes():
        api.spec.components.security_scheme(name, scheme)
    return api
