"""Operator authentication and roles: who calls a ``/v1/admin`` endpoint, and may they.

A caller is an operator (``bff.domain.operators``) identified by either
- ``Authorization: Bearer <token>``: an operator's own token, or ``BFF_ADMIN_TOKEN`` (the
  break-glass admin); or
- the console's ``bff_console`` cookie (``POST /v1/admin/session``); a request that changes
  state (not GET/HEAD/OPTIONS) then also carries ``X-CSRF-Token``, the session's CSRF token.

No credentials, an unknown or removed token, an expired session: 401. A console request without
its CSRF token, or a role the endpoint does not allow: 403. Each endpoint names its roles once,
with ``@roles(...)``; the spec's security, 401, 403, ``x-bff-roles`` and description follow
from it.
"""

from __future__ import annotations

import functools
import hmac
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from flask import request
from flask_smorest import Blueprint

from bff.domain import operators
from bff.domain.operators import ADMIN, MARKETING, ROLES, STAFF, Operator
from bff.edges.http.bearer import bearer_token
from bff.edges.http.openapi import ADMIN_SCHEME, CONSOLE_SCHEME, ROLES_KEY, documents
from bff.edges.http.quota import limited_attempt
from bff.edges.http.request_guard import authenticated_by
from bff.ground.errors import Forbidden, Unauthorized
from bff.ground.services import services

__all__ = ["ADMIN", "MARKETING", "STAFF", "admin_blueprint", "admin_required", "authenticate",
           "current_operator", "operation", "roles"]

# OpenAPI security requirement of every operator endpoint: the bearer token, or the console
# session (both schemes are declared by the Api).
ADMIN_SECURITY: list[dict[str, list]] = [{ADMIN_SCHEME: []}, {CONSOLE_SCHEME: []}]
CONSOLE_SECURITY: list[dict[str, list]] = [{CONSOLE_SCHEME: []}]
NO_ADMIN_TOKEN = "no valid operator token or console session"
NO_CONSOLE_SESSION = "no console session (the bff_console cookie is missing or has expired)"
COOKIE = "bff_console"
CSRF_HEADER = "X-CSRF-Token"
# A console page's own background request (a poll): the session must be live, but the request
# does not renew it, so an unattended page cannot keep an operator signed in.
BACKGROUND_HEADER = "X-BFF-Background"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_COOKIE_CHARS = 128
ROLES_ATTRIBUTE = "_bff_roles"
# Kept in the WSGI environ, not in ``g``: a request the sandbox makes into the app in-process
# (a pushed event) shares the outer request's app context, hence its ``g``.
_OPERATOR = "bff.operator"  # authenticated and allowed past the CSRF check
_SUBJECT = "bff.operator.subject"  # identified (the audit names it even when refused)


def subject() -> Operator | None:
    """The operator this request identified, allowed or not (for the audit)."""
    return request.environ.get(_SUBJECT)


def identified(operator: Operator) -> Operator:
    """Name the operator of this request (the audit records it, allowed or refused)."""
    request.environ[_SUBJECT] = operator
    return operator


def console_session() -> operators.ConsoleSession | None:
    """The live console session of the request's cookie (renewed), if any."""
    session_id = request.cookies.get(COOKIE, "")
    if not session_id or len(session_id) > MAX_COOKIE_CHARS:
        return None
    svc = services()
    return operators.session(svc.redis, session_id, svc.settings.admin_token,
                             svc.settings.console_idle_seconds,
                             renew=request.headers.get(BACKGROUND_HEADER) != "1")


def check_csrf(session: operators.ConsoleSession) -> None:
    """A console request that changes state carries the session's CSRF token, else 403."""
    if request.method in SAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER, "")
    if not hmac.compare_digest(sent.encode(), session.csrf_token.encode()):
        raise Forbidden(f"a console request that changes state needs the {CSRF_HEADER} header "
                        "of its session")


def authenticate() -> Operator:
    """The operator calling (bearer token first, else the console cookie); 401 or 403."""
    found = request.environ.get(_OPERATOR)
    if found is not None:
        return found
    token = bearer_token()
    if token is not None:
        svc = services()
        operator = operators.authenticate(svc.redis, token, svc.settings.admin_token)
        if operator is None:
            # a guess, charged to the address's failure budget like a refused sign-in: 429
            # once used up (a valid token is looked up first, so it is never held back)
            with limited_attempt():
                raise Unauthorized("a valid operator token is required (Authorization: "
                                   "Bearer ...) or a console session")
        identified(operator)
    else:
        session = console_session()
        if session is None:
            raise Unauthorized("a valid operator token is required (Authorization: Bearer ...)"
                               " or a console session")
        operator = identified(session.operator)
        check_csrf(session)
    request.environ[_OPERATOR] = operator
    return operator


def current_operator() -> Operator:
    """The authenticated operator of this request (authenticating it if not yet done)."""
    return authenticate()


def _require(operator: Operator, permitted: tuple[str, ...]) -> None:
    if operator.role not in permitted:
        raise Forbidden(f"the {operator.role} role may not do this (allowed: "
                        f"{', '.join(permitted)})")


def _authorize(permitted: tuple[str, ...]) -> None:
    """Authenticate (401), then the role (403). The request gate runs it for the view before
    flask-smorest parses the arguments, so a caller without the right gets 401/403, not a
    400/422 that describes the endpoint's schema."""
    operator = authenticate()
    if request.method != "OPTIONS":
        _require(operator, permitted)


def check_admin() -> None:
    """Authenticate the operator (401), whatever its role; ``@roles`` checks the role."""
    authenticate()


# refused bearer tokens spend the address's failure budget (authenticate)
GUESSES_LIMITED = {429: "too many refused operator tokens from this address "
                        "(BFF_LIMIT_ADDRESS_FAILURES); see Retry-After"}


def forbidden_answer(permitted: tuple[str, ...]) -> dict[int, str]:
    return {403: f"the operator's role is not one of {', '.join(permitted)}; or a console "
                 f"request that changes state without its session's {CSRF_HEADER}"}


def roles(*allowed: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Who may call the view: operators of the ``allowed`` roles (admin always may).

    The one declaration of an endpoint's roles: the request gate checks it
    before the arguments are parsed, the view checks it again, and the spec documents the
    security schemes, 401, 403, ``x-bff-roles`` and the roles in the description.
    """
    return _roles(allowed)


def _roles(allowed: tuple[str, ...]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    unknown = set(allowed) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")
    permitted = tuple(role for role in ROLES if role in allowed or role == ADMIN)

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            _require(authenticate(), permitted)
            return view(*args, **kwargs)

        setattr(wrapper, ROLES_ATTRIBUTE, permitted)
        authenticated_by(functools.partial(_authorize, permitted))(wrapper)
        documented = documents({401: NO_ADMIN_TOKEN}, forbidden_answer(permitted),
                               GUESSES_LIMITED, security=ADMIN_SECURITY)(wrapper)
        documented._apidoc["manual_doc"][ROLES_KEY] = list(permitted)  # type: ignore[attr-defined]
        return documented

    return decorator


def operation(blp: Blueprint, answer: int | tuple[int, Any], *, roles: tuple[str, ...],
              errors: Mapping[int, str] | None = None,
              fallbacks: Sequence[dict[int, str]] = ()
              ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """An operator view's answers and roles in one declaration (its arguments stay
    ``@blp.arguments`` above it, in the order the view takes them).

    ``answer``: the success status, or (status, schema), as ``blp.response`` takes them;
    ``errors``: the view's own error answers (status: description), as ``blp.alt_response``;
    ``fallbacks``: answers documented unless the view has its own (``documents``), e.g.
    ``UPSTREAM_FAILURES``; ``roles``: who may call it, as ``@roles`` (``()``: admin alone).
    The same as stacking ``@blp.response``, ``@blp.alt_response`` (one per error, in order),
    ``@documents(*fallbacks)`` and ``@roles(*roles)``: the spec is that stack's.
    """
    status, schema = (answer, None) if isinstance(answer, int) else answer

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        view = _roles(roles)(view)
        if fallbacks:
            view = documents(*fallbacks)(view)
        for code, description in reversed(list((errors or {}).items())):
            view = blp.alt_response(code, description=description)(view)
        return blp.response(status, schema)(view)

    return decorator


admin_required = roles()  # admin only: for a view no other role may call


def admin_blueprint(name: str, import_name: str, description: str) -> Blueprint:
    """A blueprint under ``/v1/admin``. Each view carries ``@roles(...)``, its one declaration
    of who may call it, which the request gate checks and the spec documents; a view that
    forgot it is admin's (the blueprint's own mark)."""
    blp = Blueprint(name, import_name, url_prefix="/v1/admin", description=description)
    return authenticated_by(functools.partial(_authorize, (ADMIN,)))(blp)
