"""``@user_required`` and ``current_user()``: the caller of a user endpoint, from its bearer token.

Usage in a flask-smorest view (below the ``@blp.response`` decorators); the spec's security
requirement and its 401 follow from the one decorator::

    @blp.response(200, OutSchema)
    @user_required
    def post(self, data): user = current_user()

The session is read with one Redis round trip. ``SessionUser.oa_openid`` is resolved lazily on
first access (an H5 session's own OA openid, else the identity links by Mini Program openid,
then by unionid) once per request, so endpoints that never need it pay nothing. A link-resolved
OA openid is not cached in the session, so removing a link takes effect at once.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import redis
from flask import g

from bff.bearer import bearer_token
from bff.errors import Unauthorized
from bff.extensions import services
from bff.identity import find_identity
from bff.openapi import SESSION_SCHEME, STORAGE_FAILURE, documents
from bff.request_guard import request_view
from bff.sessions.store import SessionRecord, load_session

_UNSET = object()


class SessionUser:
    """The authenticated caller. ``token_id`` is the SHA-256 of the token, never the token."""

    __slots__ = ("token_id", "mp_openid", "unionid", "_oa_openid", "expires_at", "_redis")

    def __init__(self, r: redis.Redis, token_id: str, mp_openid: str | None,
                 oa_openid: str | None, unionid: str | None, expires_at: int = 0) -> None:
        self._redis = r  # where the identity links are read: no app context needed
        self.token_id = token_id
        self.mp_openid = mp_openid
        self.unionid = unionid
        self.expires_at = expires_at
        self._oa_openid: Any = oa_openid if oa_openid else _UNSET

    @classmethod
    def from_record(cls, r: redis.Redis, rec: SessionRecord) -> SessionUser:
        return cls(r, rec.token_id, rec.mp_openid, rec.oa_openid, rec.unionid, rec.expires_at)

    @property
    def oa_openid(self) -> str | None:
        """The caller's Official Account openid, or None while no link is known."""
        if self._oa_openid is _UNSET:
            self._oa_openid = resolve_oa_openid(self._redis, self.mp_openid, self.unionid)
        return self._oa_openid

    def forget_oa_openid(self) -> None:
        """Resolve again on next access (after a new link was written)."""
        self._oa_openid = _UNSET

    def __repr__(self) -> str:  # no openids in reprs: they end up in logs
        return f"SessionUser(token_id={self.token_id[:8]}…)"


def resolve_oa_openid(r: redis.Redis, mp_openid: str | None,
                      unionid: str | None) -> str | None:
    """A Mini Program user's OA openid from the identity links (by openid, then unionid)."""
    oa = None
    if mp_openid:
        ident = find_identity(r, mp_openid=mp_openid)
        oa = ident.official_account_openid if ident else None
    if not oa and unionid:
        ident = find_identity(r, unionid=unionid)
        oa = ident.official_account_openid if ident else None
    # Not cached in the session: an operator who removes a wrong link
    # (DELETE /v1/admin/identities) must cut every live session off at once.
    return oa


def authenticate() -> SessionUser:
    """The caller's session or ``Unauthorized`` (401) with a message saying what is wrong."""
    token = bearer_token()
    if token is None:
        raise Unauthorized("a session token is required (Authorization: Bearer <token>)")
    if len(token) > 128:
        raise Unauthorized("the session token is invalid, expired or revoked; log in again")
    svc = services()
    now = svc.clock()
    cache = svc.extras.get("session_cache")
    if cache is not None:  # BFF_SESSION_CACHE: invalidated by Redis on every change
        rec = cache.load(token, lambda t: load_session(svc.redis, t, now=now), now=now)
    else:
        rec = load_session(svc.redis, token, now=now)
    if rec is None:
        raise Unauthorized("the session token is invalid, expired or revoked; log in again")
    return SessionUser.from_record(svc.redis, rec)


def current_user() -> SessionUser:
    """The caller authenticated by ``@user_required`` for this request."""
    user = g.get("bff_user")
    if user is None:
        user = authenticate()
        g.bff_user = user
    return user


USER_SECURITY: list[dict[str, list]] = [{SESSION_SCHEME: []}]


def user_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Refuse with 401 unless the request carries a live session token.

    The spec follows from it: the operation requires ``bearerAuth`` and documents 401 (and the
    503 of a session store that cannot be read).
    """

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if g.get("bff_user") is None:  # not already done by authenticate_early
            g.bff_user = authenticate()
        return view(*args, **kwargs)

    wrapper.requires_user = True  # type: ignore[attr-defined]  # read by authenticate_early
    return documents({401: "no valid session token", **STORAGE_FAILURE},
                     security=USER_SECURITY)(wrapper)


def authenticate_early() -> None:
    """``before_request``: a view marked by ``@user_required`` answers 401 before its body is
    parsed, so a caller without a session never learns the endpoint's schema from a 422."""
    if getattr(request_view().method, "requires_user", False):
        g.bff_user = authenticate()
