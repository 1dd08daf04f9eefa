"""The signed-in caller (``SessionUser``): what a session's login proved, with the caller's
Official Account openid read from the identity links on first use (never copied into the
session, so removing a link takes effect on the next request; a process may keep it in the
cache that Redis invalidates, ``bff.ground.store.tracked``). It satisfies
``bff.domain.ownership.Caller``; the edge builds it from the bearer token."""

from __future__ import annotations

from typing import Any

import redis

from bff.domain.identity import Identity, identities_at
from bff.domain.sessions.store import SessionRecord
from bff.ground.store import keys
from bff.ground.store.tracked import TrackedCache

_UNSET = object()


class SessionUser:
    """The authenticated caller. ``token_id`` is the SHA-256 of the token, never the token."""

    __slots__ = ("token_id", "mp_openid", "unionid", "_oa_openid", "expires_at", "_redis",
                 "_links")

    def __init__(self, r: redis.Redis, token_id: str, mp_openid: str | None,
                 oa_openid: str | None, unionid: str | None, expires_at: int = 0,
                 links: TrackedCache | None = None) -> None:
        self._redis = r  # where the identity links are read: no app context needed
        self._links = links  # or through this cache (BFF_SESSION_CACHE)
        self.token_id = token_id
        self.mp_openid = mp_openid
        self.unionid = unionid
        self.expires_at = expires_at
        self._oa_openid: Any = oa_openid if oa_openid else _UNSET

    @classmethod
    def from_record(cls, r: redis.Redis, rec: SessionRecord,
                    links: TrackedCache | None = None) -> SessionUser:
        return cls(r, rec.token_id, rec.mp_openid, rec.oa_openid, rec.unionid, rec.expires_at,
                   links)

    @property
    def oa_openid(self) -> str | None:
        """The caller's Official Account openid, or None while no link is known."""
        if self._oa_openid is _UNSET:
            self._oa_openid = resolve_oa_openid(self._redis, self.mp_openid, self.unionid,
                                                links=self._links)
        return self._oa_openid

    def linked_identity(self) -> Identity | None:
        """The identity link of the caller's Mini Program openid, if there is one."""
        return _identities(self._redis, self._links, [("mp", self.mp_openid)])[0] \
            if self.mp_openid else None

    def forget_oa_openid(self) -> None:
        """Resolve again on next access (after a new link was written)."""
        self._oa_openid = _UNSET

    def __repr__(self) -> str:  # no openids in reprs: they end up in logs
        return f"SessionUser(token_id={self.token_id[:8]}…)"


def resolve_oa_openid(r: redis.Redis, mp_openid: str | None, unionid: str | None, *,
                      links: TrackedCache | None = None) -> str | None:
    """A Mini Program user's OA openid from the identity links (by openid, then unionid), read
    through ``links`` when given."""
    if links is not None and mp_openid:  # the usual answer, from memory
        ident = links.peek(keys.identity("mp", mp_openid), fresh=_links_an_oa_openid)
        if ident is not None:
            return ident.official_account_openid
    # Else both links in one round trip (a user's first request: neither is known yet); the
    # Mini Program openid's first.
    ids = [(kind, value) for kind, value in (("mp", mp_openid), ("unionid", unionid)) if value]
    for ident in _identities(r, links, ids):
        if ident and ident.official_account_openid:
            return ident.official_account_openid
    # Not copied into the session, and cached only until Redis says the key changed: an
    # operator who removes a wrong link (DELETE /v1/admin/identities) must cut every live
    # session off at once.
    return None


def _identities(r: redis.Redis, links: TrackedCache | None,
                ids: list[tuple[str, str]]) -> list[Identity | None]:
    """The identity links of ``(kind, value)`` ids, read through ``links`` when given: the
    ones it does not hold in one round trip."""
    wanted = [keys.identity(kind, value) for kind, value in ids]
    if links is None:
        return identities_at(r, wanted) if wanted else []
    # Only a link to an OA openid is kept: one that is missing or names none is read again,
    # so a link written by this very request is found at once.
    return links.load_many(wanted, lambda missing: identities_at(r, missing),
                           fresh=_links_an_oa_openid)


def _links_an_oa_openid(ident: Identity | None) -> bool:
    return bool(ident and ident.official_account_openid)
