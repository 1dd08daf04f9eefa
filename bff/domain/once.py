"""Exactly once per key: the one behaviour of every ``Idempotency-Key`` (the catalogue, member
changes, redemption) and of activation (once per activate_ticket and code).

- **The key** is stored only as ``digest(scope, key)``; the request it names as
  ``fingerprint(body)``.
- **A retry** (same key, same body) gets the first answer, with no second call to WeChat.
- **The same key with another body** is ``key_reused()``: 422, "an Idempotency-Key already
  used for another request".
- **A concurrent request** (same key, the first still running) waits up to ``WAIT_SECONDS``:
  it gets the first's answer, or the first's failure (relayed: a refusal is never stored), or,
  still running, ``in_progress()``: 503 with Retry-After.
- **A lost answer** (the call reached WeChat, its answer did not come back) is
  ``answer_lost()``: 503 with Retry-After until the outcome is confirmed (by WeChat's push, or
  by asking WeChat), then the retry gets the answer; when WeChat has no way to confirm it
  (card creation, stock), ``unconfirmable()``: 409, the key is spent.
- **A refused request stores nothing** under its key (the caller binds the key only once the
  call is about to be sent, and frees it on a refusal).

``run`` is the loop: look for the stored answer, else take the key's claim (a redis-py
``Lock``), look again, do the work; else wait. Each user keeps its own record of the answer
(its keys in ``bff.ground.store.keys``), read by ``stored`` and written by ``action``.
"""

from __future__ import annotations

import hashlib
import json
import math
import secrets
import time
from collections.abc import Callable
from typing import Any, TypeVar

import redis
from redis.exceptions import LockError

from bff.ground.errors import (
    Conflict,
    DomainError,
    ServiceUnavailable,
    Unprocessable,
    wechat_failure,
)
from bff.ground.store import STORE_ERRORS, keys
from bff.ground.wechat.errors import WeChatError

T = TypeVar("T")

# Read at call time, so tests can shorten them.
CLAIM_SECONDS = 60  # longer than the upstream calls of one operation with their retries
WAIT_SECONDS = 10.0  # how long a concurrent request waits for the first
POLL_SECONDS = 0.02
FAILURE_SECONDS = 15  # how long a relayed failure waits to be read
RETRY_AFTER = 2

KEY_REUSED = "an Idempotency-Key already used for another request"


def digest(*parts: str) -> str:
    """The stored identity of a key: sha256 of its parts (scope, key), never the key itself."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def fingerprint(body: Any) -> str:
    """The identity of a request body, to tell a retry from another request under one key."""
    return digest(json.dumps(body, sort_keys=True, ensure_ascii=False))


class KeyReused(Unprocessable):
    """422: the key names another request. About the caller's key, not the work: never relayed
    to the requests waiting on the same claim."""


def key_reused(advice: str = "use a new key for each request", *,
               key: str = "this Idempotency-Key") -> KeyReused:
    return KeyReused(f"{key} was already used for another request; {advice}")


def in_progress(message: str = "a request with this Idempotency-Key is in progress") \
        -> ServiceUnavailable:
    return ServiceUnavailable(f"{message}; retry shortly", retry_after=RETRY_AFTER)


def answer_lost(retry_after: int = 5) -> ServiceUnavailable:
    return ServiceUnavailable("the first attempt reached WeChat but its answer was lost; "
                              "WeChat's confirmation is awaited, retry later",
                              retry_after=retry_after)


def unconfirmable(what: str) -> Conflict:
    return Conflict("the first request with this Idempotency-Key reached WeChat but its answer "
                    f"was lost, and WeChat cannot confirm it: {what}")


class Relayed(DomainError):
    """The failure of the attempt a concurrent request was waiting on."""

    def __init__(self, status: int, message: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.status = status


def run(r: redis.Redis, claim_key: str, *, stored: Callable[[], T | None],
        action: Callable[[], T], wait_seconds: float | None = None,
        claim_seconds: float | None = None, busy: str | None = None) -> T:
    """``stored()`` when it has the answer (it raises for another body, a lost answer), else
    ``action()`` by the one request holding ``claim_key``; the others wait (module doc)."""
    deadline = time.monotonic() + (WAIT_SECONDS if wait_seconds is None else wait_seconds)
    watched: str | None = None
    while True:
        found = stored()
        if found is not None:
            return found
        if watched:
            failure = r.get(keys.once_failure(claim_key, watched))
            if failure:
                raise Relayed(**json.loads(failure))
        token = secrets.token_hex(16)
        claim = r.lock(claim_key, timeout=CLAIM_SECONDS if claim_seconds is None
                       else claim_seconds)
        if claim.acquire(blocking=False, token=token):
            try:
                found = stored()  # the previous holder finished between our look and our claim
                return found if found is not None else action()
            except KeyReused:
                raise
            except (DomainError, WeChatError) as e:
                _relay(r, claim_key, token, e)
                raise
            finally:
                _release(claim)
        owner = r.get(claim_key)
        if owner and owner != watched:  # ask the holder to tell us its failure, if it fails
            r.set(keys.once_failure(claim_key, owner), "", nx=True,
                  ex=FAILURE_SECONDS + math.ceil(WAIT_SECONDS))
            watched = owner
        if time.monotonic() > deadline:
            raise in_progress(busy) if busy else in_progress()
        time.sleep(POLL_SECONDS)


def _relay(r: redis.Redis, claim_key: str, token: str, e: Exception) -> None:
    retry_after = getattr(e, "retry_after", None)
    if isinstance(e, DomainError):
        status, message = e.status, e.message
    else:  # the answer the holder gives (e.g. 504 for a timeout), relayed to the waiting ones
        answer = wechat_failure(e) if isinstance(e, WeChatError) else None
        status = answer.status if answer else 502
        message = (answer.message if answer else None) or "WeChat failed; retry shortly"
        retry_after = answer.retry_after if answer else None
    record = {"status": status, "message": message, "errcode": getattr(e, "errcode", None),
              "retry_after": int(retry_after or RETRY_AFTER)}
    try:  # only for requests waiting on this attempt: a lone refusal leaves no key behind
        r.set(keys.once_failure(claim_key, token), json.dumps(record), xx=True,
              ex=FAILURE_SECONDS)
    except STORE_ERRORS:
        pass  # waiting requests then time out and answer "retry shortly"


def _release(claim: Any) -> None:
    try:
        claim.release()
    except LockError:
        pass  # lapsed (a very slow call): another request may hold it now
    except STORE_ERRORS:
        pass  # the claim expires after its timeout
