"""Operator authentication: ``Authorization: Bearer <BFF_ADMIN_TOKEN>``."""

from __future__ import annotations

import functools
import hmac
from collections.abc import Callable
from typing import Any

from flask import g
from flask_smorest import Blueprint

from bff.edges.http.bearer import bearer_token
from bff.edges.http.openapi import ADMIN_SCHEME, documents
from bff.edges.http.request_guard import authenticated_by
from bff.ground.errors import Unauthorized
from bff.ground.services import services

# OpenAPI security requirement of every operator endpoint (the scheme is declared by the Api).
ADMIN_SECURITY: list[dict[str, list]] = [{ADMIN_SCHEME: []}]
NO_ADMIN_TOKEN = "no valid operator token"


def check_admin() -> None:
    """Raise 401 unless the request carries the admin token (constant-time check); once per
    request (the gate runs it before the body is parsed, the view's wrapper finds it done)."""
    if g.get("bff_operator"):
        return
    token = bearer_token()
    expected = services().settings.admin_token
    if token is None or not hmac.compare_digest(token.encode(), expected.encode()):
        raise Unauthorized("a valid operator token is required (Authorization: Bearer ...)")
    g.bff_operator = True


def admin_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Refuse the request with 401 unless it carries the admin token (constant-time check).

    The spec follows from it: the operation requires ``adminAuth`` and documents 401.
    """

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        check_admin()
        return view(*args, **kwargs)

    authenticated_by(check_admin)(wrapper)
    return documents({401: NO_ADMIN_TOKEN}, security=ADMIN_SECURITY)(wrapper)


def admin_blueprint(name: str, import_name: str, description: str) -> Blueprint:
    """A blueprint under ``/v1/admin``: the request gate checks the admin token for every view
    in it, even one that forgot ``@admin_required`` (which documents the scheme and the 401)."""
    blp = Blueprint(name, import_name, url_prefix="/v1/admin", description=description)
    return authenticated_by(check_admin)(blp)
