"""Redis connection: the only state of the service."""

from __future__ import annotations

import logging

import redis

log = logging.getLogger(__name__)


def connect(url: str | None, *, allow_embedded: bool) -> redis.Redis:
    """Return a Redis client for ``url``; without one, the embedded store where allowed."""
    if url:
        return redis.Redis.from_url(
            url,
            decode_responses=True,
            socket_connect_timeout=2,
            socket_timeout=2,
            health_check_interval=30,
            max_connections=256,
        )
    if not allow_embedded:
        raise RuntimeError("BFF_REDIS_URL is required outside sandbox mode")
    import fakeredis

    log.warning(
        "BFF_REDIS_URL is not set: using an embedded in-process store (fakeredis); "
        "state is lost on exit and not shared between processes"
    )
    return fakeredis.FakeRedis(decode_responses=True, server=fakeredis.FakeServer())


# KEYS[1] = a claim or lock; ARGV[1] = the owner token its holder set with SET NX.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def release_claim(r: redis.Redis, key: str, owner: str) -> bool:
    """Delete a ``SET NX`` claim only if ``owner`` still holds it (never another's)."""
    return bool(r.eval(_RELEASE, 1, key, owner))
