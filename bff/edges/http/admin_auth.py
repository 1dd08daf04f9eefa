"""Operator authentication: ``Authorization: Bearer <BFF_ADMIN_TOKEN>``."""

from __future__ import annotations

import functools
import hmac
from collections.abc import Callable
from typing import Any

from flask_smorest import Blueprint

from bff.edges.http.bearer import bearer_token
from bff.edges.http.openapi import ADMIN_SCHEME, documents
from bff.edges.http.request_guard import refuse_missing_json_body
from bff.ground.errors import Unauthorized
from bff.ground.services import services

# OpenAPI security requirement of every operator endpoint (the scheme is declared by the Api).
ADMIN_SECURITY: list[dict[str, list]] = [{ADMIN_SCHEME: []}]
NO_ADMIN_TOKEN = "no valid operator token"


def check_admin() -> None:
    """Raise 401 unless the request carries the admin token (constant-time check).

    Also usable as ``blp.before_request(check_admin)``: it then runs before flask-smorest
    parses the arguments, so a caller without the token gets 401, not a 400/422 that
    describes the endpoint's schema.
    """
    token = bearer_token()
    expected = services().settings.admin_token
    if token is None or not hmac.compare_digest(token.encode(), expected.encode()):
        raise Unauthorized("a valid operator token is required (Authorization: Bearer ...)")


def admin_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Refuse the request with 401 unless it carries the admin token (constant-time check).

    The spec follows from it: the operation requires ``adminAuth`` and documents 401.
    """

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        check_admin()
        return view(*args, **kwargs)

    return documents({401: NO_ADMIN_TOKEN}, security=ADMIN_SECURITY)(wrapper)


def admin_blueprint(name: str, import_name: str, description: str) -> Blueprint:
    """A blueprint under ``/v1/admin`` that checks the admin token before anything else.

    The check runs before flask-smorest parses the arguments, so no 400/422 reaches a caller
    without the token. Each view still carries ``@admin_required``: it documents the security
    scheme and the 401.
    """
    blp = Blueprint(name, import_name, url_prefix="/v1/admin", description=description)
    blp.before_request(check_admin)
    blp.before_request(refuse_missing_json_body)  # after the token check: 401 comes first
    blp.checks_json_body = True  # type: ignore[attr-defined]
    return blp
