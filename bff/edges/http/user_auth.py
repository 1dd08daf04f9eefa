"""``@user_required`` and ``current_user()``: the caller of a user endpoint, from its bearer token.

Usage in a flask-smorest view (below the ``@blp.response`` decorators); the spec's security
requirement and its 401 follow from the one decorator::

    @blp.response(200, OutSchema)
    @user_required
    def post(self, data): user = current_user()

The session is read with one Redis round trip, or none from the per-process cache that Redis
invalidates (``BFF_SESSION_CACHE``). ``SessionUser.oa_openid`` is resolved lazily on first
access (an H5 session's own OA openid, else the identity links by Mini Program openid, then by
unionid) once per request, so endpoints that never need it pay nothing. A link-resolved OA
openid is not copied into the session, and the same cache holds a link only until Redis says
it changed, so removing a link takes effect at once.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import g

from bff.domain.sessions.store import load_session, token_id_of
from bff.domain.sessions.user import SessionUser
from bff.edges.http.bearer import bearer_token
from bff.edges.http.openapi import SESSION_SCHEME, STORAGE_FAILURE, documents
from bff.edges.http.request_guard import authenticated_by
from bff.ground.errors import Unauthorized
from bff.ground.services import Services, services
from bff.ground.store import keys


def authenticate() -> SessionUser:
    """The caller's session or ``Unauthorized`` (401) with a message saying what is wrong."""
    token = bearer_token()
    if token is None:
        raise Unauthorized("a session token is required (Authorization: Bearer <token>)")
    user = session_user(services(), token)
    if user is None:
        raise Unauthorized("the session token is invalid, expired or revoked; log in again")
    return user


def session_user(svc: Services, token: str | None) -> SessionUser | None:
    """The live session ``token`` names, or None (none, too long, unknown, expired, revoked)."""
    if token is None or len(token) > 128:
        return None
    now = svc.clock()
    cache = svc.extras.get("session_cache")
    if cache is not None:  # BFF_SESSION_CACHE: invalidated by Redis on every change
        rec = cache.load(keys.session(token_id_of(token)),
                         lambda: load_session(svc.redis, token, now=now),
                         fresh=lambda rec: rec is not None and rec.expires_at > now)
    else:
        rec = load_session(svc.redis, token, now=now)
    if rec is None:
        return None
    return SessionUser.from_record(svc.redis, rec, links=cache)


def current_user() -> SessionUser:
    """The caller authenticated by ``@user_required`` for this request."""
    user = g.get("bff_user")
    if user is None:
        user = authenticate()
        g.bff_user = user
    return user


USER_SECURITY: list[dict[str, list]] = [{SESSION_SCHEME: []}]


def authenticate_into_request() -> SessionUser:
    """The caller of this request, authenticated once (the gate runs it first)."""
    user = g.get("bff_user")
    if user is None:
        user = g.bff_user = authenticate()
    return user


def user_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Refuse with 401 unless the request carries a live session token.

    The request gate (``bff.edges.http.request_guard.gate``) runs the check before the body is
    parsed, so a caller without a session never learns the endpoint's schema from a 422. The
    spec follows from the one decorator: ``bearerAuth`` and its 401 (and the 503 of a session
    store that cannot be read).
    """

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        authenticate_into_request()
        return view(*args, **kwargs)

    authenticated_by(authenticate_into_request)(wrapper)
    return documents({401: "no valid session token", **STORAGE_FAILURE},
                     security=USER_SECURITY)(wrapper)
