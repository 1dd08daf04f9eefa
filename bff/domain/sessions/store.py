"""Session records in Redis: opaque bearer tokens, stored only as their SHA-256.

A token is 32 random bytes (url-safe base64). Redis holds ``bff:session:<sha256(token)>``, so a
dump of Redis does not hand out live tokens. The session_key from jscode2session is kept
sealed (``bff.domain.personal``, AES-GCM under ``BFF_DATA_KEY``) and is never returned or logged.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

import redis

from bff.domain.personal import seal_text, unseal_text
from bff.ground.store import coalesce, keys

if TYPE_CHECKING:
    from bff.ground.config import Settings

TOKEN_BYTES = 32
# v2: a record holds only what its login proved (a Mini Program session its openid and the
# unionid jscode2session gave; an H5 session its OA openid and unionid), never a linked id.
SESSION_VERSION = "2"


@dataclass
class SessionRecord:
    token_id: str
    mp_openid: str | None
    oa_openid: str | None
    unionid: str | None
    expires_at: int


def token_id_of(token: str) -> str:
    """The SHA-256 hex of a token: the only form of it that is stored (or may be logged)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


SESSION_KEY_CONTEXT = "session_key"


def seal_session_key(settings: Settings, session_key: str) -> str:
    return seal_text(settings, session_key, SESSION_KEY_CONTEXT)


def unseal_session_key(settings: Settings, blob: str) -> str:
    """Open a stored session_key (either data key; also the first, pre-v1 format)."""
    return unseal_text(settings, blob, SESSION_KEY_CONTEXT, legacy=True)


def create_session(
    r: redis.Redis,
    *,
    ttl: int,
    now: float,
    mp_openid: str | None = None,
    oa_openid: str | None = None,
    unionid: str | None = None,
    sealed_session_key: str | None = None,
) -> tuple[str, SessionRecord]:
    """A new session from ``now``; returns the token (shown once, to the caller) and the record."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    token_id = token_id_of(token)
    now = int(now)
    values = {
        "mp": mp_openid or "",
        "oa": oa_openid or "",
        "unionid": unionid or "",
        "sk": sealed_session_key or "",
        "created_at": now,
        "expires_at": now + ttl,
        "v": SESSION_VERSION,
    }
    pipe = r.pipeline(transaction=True)
    pipe.hset(keys.session(token_id), mapping=values)
    pipe.expire(keys.session(token_id), ttl)
    pipe.execute()
    return token, SessionRecord(token_id, mp_openid, oa_openid, unionid, now + ttl)


_SESSION_FIELDS = ("mp", "oa", "unionid", "expires_at", "v")


def load_session(r: redis.Redis, token: str, *, now: float) -> SessionRecord | None:
    """The session of ``token`` live at ``now``, or None when unknown, revoked or expired (one
    round trip, shared with concurrent requests: ``bff.ground.store.coalesce``; a command of
    redis-py's own, through its pool, cost a gevent worker several times the CPU)."""
    token_id = token_id_of(token)
    key = keys.session(token_id)
    h = coalesce.send(r, lambda pipe: pipe.hmget(key, _SESSION_FIELDS))[0]
    if h[3] is None:
        return None
    expires_at = int(h[3])
    if expires_at <= now:
        return None
    mp, oa, unionid = h[0] or None, h[1] or None, h[2] or None
    if h[4] is None and mp:
        # A record written before v2 copied link-resolved ids into a Mini Program session:
        # keep only what its login proved, so a removed link reaches it too.
        oa = None
    return SessionRecord(token_id, mp, oa, unionid, expires_at)


def revoke_session(r: redis.Redis, token_id: str) -> bool:
    return bool(r.delete(keys.session(token_id)))
