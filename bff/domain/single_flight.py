"""One WeChat call for a cold cached lookup, however many requests and processes want it.

``filled(r, key, fill)``: the value cached at ``key``; when there is none, one caller across
every process takes a short claim (a redis-py ``Lock`` at ``keys.filling(key)``), asks WeChat
through ``fill`` and stores the answer (with its TTL: a negative answer too); the others poll
``key`` until it is there. A claim holder that fails (WeChat down) releases the claim, and the
next waiter tries in its turn. A claim that outlives a crashed holder lapses after
``CLAIM_SECONDS``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from redis.exceptions import LockError

from bff.ground.errors import ServiceUnavailable
from bff.ground.store import coalesce, keys

CLAIM_SECONDS = 10  # longer than one upstream call with its retries
WAIT_SECONDS = 10.0
POLL_SECONDS = 0.02


def filled(r: Any, key: str, fill: Callable[[], tuple[str, int]], *,
           wait_seconds: float | None = None) -> str:
    """The value at ``key``, else ``fill()``'s ``(value, ttl seconds)``, stored, asked once."""
    deadline = time.monotonic() + (WAIT_SECONDS if wait_seconds is None else wait_seconds)
    # The hot path, a warm cache: read with concurrent requests' commands (coalesce)
    [value] = coalesce.send(r, lambda pipe: [pipe.get(key)])
    while True:
        if value is not None:
            return value
        claim = r.lock(keys.filling(key), timeout=CLAIM_SECONDS)
        if claim.acquire(blocking=False):
            try:
                value = r.get(key)  # filled between our read and our claim
                if value is None:
                    value, ttl = fill()
                    r.set(key, value, ex=ttl)
                return value
            finally:
                try:
                    claim.release()
                except LockError:  # lapsed (a very slow call): someone else may hold it now
                    pass
        if time.monotonic() > deadline:
            raise ServiceUnavailable("WeChat is being asked about this already; retry shortly",
                                     retry_after=1)
        time.sleep(POLL_SECONDS)
        value = r.get(key)
