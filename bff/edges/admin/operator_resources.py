"""The console's session (sign in with a token, who am I, sign out), the audit log, and the hook
that records every state-changing operator request in it."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from flask import Response, after_this_request, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE

from bff.domain import audit, operators
from bff.edges.admin.operator_schemas import (
    AuditPageSchema,
    AuditQuerySchema,
    ConsoleSessionSchema,
    SignInSchema,
)
from bff.edges.http.admin_auth import (
    ADMIN,
    CONSOLE_SECURITY,
    COOKIE,
    NO_CONSOLE_SESSION,
    SAFE_METHODS,
    admin_blueprint,
    check_csrf,
    console_session,
    identified,
    operation,
    subject,
)
from bff.edges.http.openapi import STORAGE_FAILURE, documents
from bff.edges.http.quota import RATE_LIMITED_ANSWER, limited_attempt
from bff.ground.errors import Unauthorized
from bff.ground.observability import current_request_id
from bff.ground.services import services
from bff.ground.store import STORE_ERRORS

log = logging.getLogger(__name__)

session_blp = Blueprint("admin-session", __name__, url_prefix="/v1/admin",
                        description="Operators: the console's session (a cookie)")
blp = admin_blueprint("admin-audit", __name__, "Operators: the audit log")

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def _set_cookie(session_id: str) -> None:
    # Secure over HTTPS (request.is_secure follows a trusted proxy's X-Forwarded-Proto), and
    # on any host but loopback: a TLS proxy forwarding to 127.0.0.1 still gets Secure.
    secure = request.is_secure or (urlsplit(f"//{request.host}").hostname or "") not in LOOPBACK

    @after_this_request
    def cookie(response: Response) -> Response:
        response.set_cookie(COOKIE, session_id, httponly=True, samesite="Strict", path="/",
                            secure=secure)
        return response


def _clear_cookie() -> None:
    @after_this_request
    def cookie(response: Response) -> Response:
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="Strict")
        return response


def _answer(session: operators.ConsoleSession) -> dict[str, Any]:
    return {"operator": session.operator.as_dict(), "csrf_token": session.csrf_token,
            "idle_timeout": services().settings.console_idle_seconds}


@session_blp.route("/session")
class ConsoleSession(MethodView):
    @session_blp.arguments(SignInSchema)
    @session_blp.response(201, ConsoleSessionSchema)
    @documents({401: "no operator has this token"}, RATE_LIMITED_ANSWER, STORAGE_FAILURE,
               own=True)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Sign the console in with an operator's token: a session cookie and its CSRF token

        The answer sets ``bff_console`` (HttpOnly, SameSite=Strict, Path=/; Secure unless the
        host is loopback). Refused tokens count against the address's failure budget
        (``BFF_LIMIT_ADDRESS_FAILURES``), as refused WeChat calls do: then 429.
        """
        svc = services()
        with limited_attempt():
            opened = operators.sign_in(svc.redis, data["token"], svc.settings.admin_token,
                                       svc.settings.console_idle_seconds)
            if opened is None:
                raise Unauthorized("no operator has this token")
        session_id, session = opened
        identified(session.operator)  # the audit names who signed in
        previous = request.cookies.get(COOKIE)
        if previous:
            operators.sign_out(svc.redis, previous)
        _set_cookie(session_id)
        return _answer(session)

    @session_blp.response(200, ConsoleSessionSchema)
    @documents({401: NO_CONSOLE_SESSION}, STORAGE_FAILURE, security=CONSOLE_SECURITY)
    def get(self) -> dict[str, Any]:
        """The console's session: who is signed in, and its CSRF token (renews it)"""
        session = console_session()
        if session is None:
            raise Unauthorized(NO_CONSOLE_SESSION)
        return _answer(session)

    @session_blp.response(204)
    @documents({401: NO_CONSOLE_SESSION,
                403: "no X-CSRF-Token, or not the session's"}, STORAGE_FAILURE,
               security=CONSOLE_SECURITY)
    def delete(self) -> None:
        """Sign the console out: the session ends on the server, the cookie is cleared

        Send the session's ``X-CSRF-Token``, as with every request that changes state.
        """
        session = console_session()
        if session is None:
            raise Unauthorized(NO_CONSOLE_SESSION)
        identified(session.operator)
        check_csrf(session)
        operators.sign_out(services().redis, request.cookies[COOKIE])
        _clear_cookie()


@blp.route("/audit")
class AuditLog(MethodView):
    @blp.arguments(AuditQuerySchema, location="query", as_kwargs=True, unknown=RAISE)
    @operation(blp, (200, AuditPageSchema), fallbacks=(STORAGE_FAILURE,), roles=(ADMIN,))
    def get(self, limit: int, before: str | None) -> dict[str, Any]:
        """Who changed what: operator requests and commands that change state, newest first

        Pass the previous page's ``next_before`` as ``before`` for older entries. About the
        newest 100,000 entries are kept.
        """
        entries, next_before = audit.read(services().redis, limit=limit, before=before)
        return {"entries": entries, "next_before": next_before}


# A read of personal data (a member's form answers) is audited like a change: the view sets it.
AUDITED_READ = "bff.audited_read"


def audited_read() -> None:
    """Record this GET in the audit (who read which member's personal data, and when)."""
    request.environ[AUDITED_READ] = True


def record_operator_request(response: Response) -> Response:
    """``after_request``: a state-changing ``/v1/admin`` request whose operator is known goes
    in the audit log, whether it succeeded or was refused."""
    if not request.path.startswith("/v1/admin/") or (
            request.method in SAFE_METHODS and not request.environ.get(AUDITED_READ)):
        return response
    operator = subject()
    if operator is None:
        return response
    try:
        audit.record(services().redis, operator=operator.name, role=operator.role,
                     via=operator.via, action=request.endpoint or "", method=request.method,
                     path=request.path, status=response.status_code,
                     request_id=current_request_id())
    except STORE_ERRORS as e:  # the answer is given; say the entry is missing
        log.error("audit entry not recorded (%s): %s %s by %s", type(e).__name__,
                  request.method, request.path, operator.name)
    return response
