"""The signed-in caller (``SessionUser``): what a session's login proved, with the caller's
Official Account openid read from the identity links on first use (never copied into the
session, so removing a link takes effect on the next request; a process may keep it in the
cache that Redis invalidates, ``bff.ground.store.tracked``). It satisfies
``bff.domain.ownership.Caller``; the edge builds it from the bearer token."""

from __future__ import annotations

from typing import Any

import redis

from bff.domain.identity import Identity, identities_at, identity_of, read_identities_into
from bff.domain.sessions.store import SessionRecord
from bff.ground.store import coalesce, keys
from bff.ground.store.tracked import Reading, TrackedCache

_UNSET = object()


class SessionUser:
    """The authenticated caller. ``token_id`` is the SHA-256 of the token, never the token."""

    __slots__ = ("token_id", "mp_openid", "unionid", "_oa_openid", "expires_at", "_redis",
                 "_links", "_ahead")

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
        # the identity links' read, queued by read_ahead: (the cache's reading, the commands)
        self._ahead: tuple[Reading | None, coalesce.Ahead] | None = None

    @classmethod
    def from_record(cls, r: redis.Redis, rec: SessionRecord,
                    links: TrackedCache | None = None) -> SessionUser:
        return cls(r, rec.token_id, rec.mp_openid, rec.oa_openid, rec.unionid, rec.expires_at,
                   links)

    @property
    def oa_openid(self) -> str | None:
        """The caller's Official Account openid, or None while no link is known. Not copied
        into the session, and kept in memory only until Redis says its link changed: an
        operator who removes a wrong link (DELETE /v1/admin/identities) cuts every live session
        off at once."""
        if self._oa_openid is _UNSET:
            self.read_ahead()  # unless a round trip took the read already, it is sent now
            ahead, self._ahead = self._ahead, None
            if ahead is not None:
                reading, read = ahead
                found = [identity_of(rec) for rec in read.replies()]
                if reading is not None:
                    self._links.keep(reading, found)  # type: ignore[union-attr]
                    found = reading.values(found)
                self._oa_openid = _first_oa_openid(found)
            elif self._oa_openid is _UNSET:  # no openid to look up
                self._oa_openid = None
        return self._oa_openid

    def read_ahead(self) -> None:
        """The caller's OA openid will be wanted once the request has made a round trip: when
        it is not in memory, its identity links (the Mini Program openid's, then the
        unionid's) ride that round trip (``coalesce.ahead``) instead of taking one of their own
        after it. On a user's first request on a worker that was one Redis round trip in five
        or six of a decrypt's, each a wait of a turn of the worker's other requests (issue 18,
        bench/endpoints.py's many users)."""
        if self._oa_openid is not _UNSET or self._ahead is not None:
            return
        mp = keys.identity("mp", self.mp_openid) if self.mp_openid else None
        if self._links is not None and mp is not None:
            first = self._links.peek(mp, fresh=_links_an_oa_openid)
            if first is not None:  # the usual answer, from memory
                self._oa_openid = first.official_account_openid
                return
        wanted = [mp] if mp is not None else []
        if self.unionid:
            wanted.append(keys.identity("unionid", self.unionid))
        if not wanted:
            return
        if self._links is not None:
            reading = self._links.begin(wanted, fresh=_links_an_oa_openid)
            if not reading.missing:  # the Mini Program openid's link arrived meanwhile
                self._oa_openid = _first_oa_openid(reading.values([]))
                return
            missing = reading.missing
        else:
            reading, missing = None, wanted
        self._ahead = (reading, coalesce.ahead(
            self._redis, lambda pipe: read_identities_into(pipe, missing)))

    def linked_identity(self) -> Identity | None:
        """The identity link of the caller's Mini Program openid, if there is one."""
        return _identities(self._redis, self._links, [("mp", self.mp_openid)])[0] \
            if self.mp_openid else None

    def forget_oa_openid(self) -> None:
        """Resolve again on next access (after a new link was written)."""
        self._oa_openid = _UNSET
        if self._ahead is not None:  # read before the link: not what the next access wants
            self._ahead[1].withdraw()
            self._ahead = None

    def __repr__(self) -> str:  # no openids in reprs: they end up in logs
        return f"SessionUser(token_id={self.token_id[:8]}…)"


def _first_oa_openid(idents: list[Identity | None]) -> str | None:
    return next((i.official_account_openid for i in idents
                 if i and i.official_account_openid), None)


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
