"""Redis connection: the only state of the service.

``BFF_REDIS_URL`` picks the client: ``redis://``, ``rediss://`` and ``unix://`` give one server
(or a managed endpoint / proxy in front of one), ``redis+cluster://host:port`` and
``rediss+cluster://host:port`` a Redis Cluster, found from that seed node through redis-py's
cluster client. Every Lua script and transaction of the service names keys of one hash slot
(``bff.ground.store.keys``), so the same code runs on both.
"""

from __future__ import annotations

import logging
from typing import Any

import redis
from redis.backoff import ExponentialWithJitterBackoff
from redis.cluster import RedisCluster
from redis.exceptions import (
    ClusterDownError,
    MaxConnectionsError,
    RedisClusterException,
    TryAgainError,
)
from redis.retry import Retry

from bff.ground.store import coalesce

log = logging.getLogger(__name__)

# URL scheme -> the scheme redis-py's cluster client reads.
CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}

# Everything the store can raise: the cluster client also raises RedisClusterException, which is
# not a RedisError (e.g. SlotNotCoveredError while a failed master's replica takes over).
STORE_ERRORS: tuple[type[Exception], ...] = (redis.RedisError, RedisClusterException)

# The store is (for now) unreachable: a broken connection, a timeout, a cluster without a master
# for the slot. Answered with 503 + Retry-After; the next request reconnects, to the new master.
UNAVAILABLE: tuple[type[Exception], ...] = (
    redis.ConnectionError, redis.TimeoutError, ClusterDownError, TryAgainError,
    MaxConnectionsError, RedisClusterException,
)

_OPTIONS: dict[str, Any] = {
    "decode_responses": True,
    "socket_connect_timeout": 2,
    "socket_timeout": 2,
    "health_check_interval": 30,
    "max_connections": 256,  # per server (per node on a cluster)
}


def is_cluster_url(url: str | None) -> bool:
    return bool(url) and url.partition("://")[0].lower() in CLUSTER_SCHEMES  # type: ignore[union-attr]


class _ReadinessPoll:
    """``select.poll`` for redis-py's readiness checks under gevent's monkey-patching.

    redis-py checks every connection it takes from the pool with a zero-timeout poll
    (``redis._parsers.hiredis._socket_can_read``); gevent's ``select.poll`` emulates that with a
    hub watcher and a greenlet switch: 5-7 % of a worker's samples in issue 18's profile, once
    per Redis command. A zero timeout never blocks, so this asks the system's poll(2) then,
    and gevent's cooperative poll for any other timeout (a blocking wait must not stop the hub).
    """

    def __init__(self) -> None:
        self._fds: list[tuple[Any, int]] = []

    def register(self, fd: Any, mask: int) -> None:
        self._fds.append((fd, mask))

    def poll(self, timeout: float | None = None) -> list[tuple[int, int]]:
        poller = _system_poll() if timeout == 0 else _gevent_poll()
        for fd, mask in self._fds:
            poller.register(fd, mask)
        return poller.poll(timeout)


def _use_system_poll_for_readiness_checks() -> None:
    """Under gevent (the Procfile's workers), redis-py's zero-timeout readiness poll is one
    system call instead of a hub round (``_ReadinessPoll``); elsewhere nothing changes."""
    global _system_poll, _gevent_poll
    try:
        from gevent import monkey
        from redis._parsers import hiredis as parser_module
    except ImportError:  # pragma: no cover - both are dependencies
        return
    if not monkey.is_module_patched("select") or not hasattr(parser_module, "select"):
        return
    import select
    import types

    if not hasattr(select, "poll"):  # pragma: no cover - not on Linux
        return
    _system_poll, _gevent_poll = monkey.get_original("select", "poll"), select.poll
    proxy = types.ModuleType("select")
    proxy.__dict__.update(vars(select))
    proxy.poll = _ReadinessPoll  # type: ignore[attr-defined]
    parser_module.select = proxy  # type: ignore[attr-defined]


_system_poll: Any = None
_gevent_poll: Any = None


def connect(url: str | None, *, allow_embedded: bool) -> Any:
    """Return a Redis client for ``url`` (a cluster client for ``redis+cluster://``); without
    one, the embedded store where allowed. Both have the ``redis.Redis`` command methods."""
    if url and is_cluster_url(url):
        scheme, _, rest = url.partition("://")
        return RedisCluster.from_url(
            f"{CLUSTER_SCHEMES[scheme.lower()]}://{rest}",
            # A few quick retries (a node that moved, a replica being promoted), then the error
            # reaches the request as a 503 instead of holding it for seconds.
            retry=Retry(ExponentialWithJitterBackoff(base=0.05, cap=0.5), retries=3),
            **_OPTIONS,
        )
    if url:
        _use_system_poll_for_readiness_checks()
        return redis.Redis.from_url(url, **_OPTIONS)
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


def ping(r: Any) -> None:
    """Is the store there (readiness)? On one server the PING goes with concurrent requests'
    commands (``coalesce``): alone, under load, its round trip gave ``/readyz`` a p99 three
    times its median. On a cluster it is sent directly: redis-py's cluster pipeline refuses
    PING (tests/security/test_review5_readyz_cluster.py)."""
    if isinstance(r, RedisCluster):
        r.ping()
        return
    coalesce.send(r, lambda pipe: [pipe.ping()])
