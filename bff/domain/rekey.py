"""Data-key rotation: re-seal every sealed value in Redis under the current ``BFF_DATA_KEY``.

The rotation, for an operator:
1. give every instance ``BFF_DATA_KEY=<new>`` and ``BFF_DATA_KEY_PREVIOUS=<old>`` (new values are
   sealed with the new key; old ones still open);
2. run ``bff data rekey`` once (any instance's environment): it walks the keyspace with SCAN and
   re-seals every value the previous key opens;
3. drop ``BFF_DATA_KEY_PREVIOUS``.

The pass is resumable: after each SCAN batch the cursor is written to a checkpoint hash in Redis
(per node on a cluster), so a rerun after an interruption continues from there. It is
idempotent: a value already under the current key is left alone, and each write is a
compare-and-set, so a value the service rewrote meanwhile is read again rather than overwritten.
A finished pass is started afresh by the next run (values an instance still on the old key wrote
in between are picked up).
"""

from __future__ import annotations

import fnmatch
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import redis

from bff.domain.members.info import MARKER as MEMBER_INFO_MARKER
from bff.domain.members.info import sealing_context as member_info_context
from bff.domain.members.members import sealing_context as member_context
from bff.domain.personal import PersonalDataError, reseal
from bff.domain.sessions.store import SESSION_KEY_CONTEXT
from bff.ground.store import keys

if TYPE_CHECKING:
    from bff.ground.config import Settings

CHECKPOINT_TTL = 30 * 86400
SCAN_COUNT = 500
MAX_TRIES = 3  # compare-and-set attempts per value when the service rewrites it meanwhile


@dataclass(frozen=True)
class Sealed:
    """One kind of sealed value: where it lives and the context it was sealed with."""

    glob: str
    field: str | None  # the hash field holding the blob; None: the key is a string
    context: Callable[[str], str]
    legacy: bool = False  # also the pre-v1 session_key format
    marker: str = ""  # values starting with it are placeholders, not sealed (never resealed)


def _member(key: str) -> str:  # bff:member:<card_id>:<code>
    card_id, _, code = key.removeprefix(f"{keys.PREFIX}member:").rpartition(":")
    return member_context(card_id, code)


def _member_info(key: str) -> str:  # bff:member-info:<card_id>:<code>
    card_id, _, code = key.removeprefix(f"{keys.PREFIX}member-info:").partition(":")
    return member_info_context(card_id, code)


def _activation(key: str) -> str:  # bff:{act:<t>}:result, sealed with context act:<t>
    digest = key.removeprefix(f"{keys.PREFIX}{{act:").removesuffix("}:result")
    return f"act:{digest}"


# Every sealed value of the service (bff.domain.personal callers). A new one must be listed here.
SEALED = (
    Sealed(keys.member("*", "*"), "fields", _member),
    Sealed(keys.activation_result("*"), None, _activation),
    Sealed(keys.member_info("*", "*"), None, _member_info, marker=MEMBER_INFO_MARKER),
    Sealed(keys.session("*"), "sk", lambda _key: SESSION_KEY_CONTEXT, legacy=True),
)

# KEYS[1]; ARGV[1] = hash field ('' for a string), ARGV[2] = the blob read, ARGV[3] = new blob.
_COMPARE_AND_SET = """
if ARGV[1] == '' then
  if redis.call('GET', KEYS[1]) == ARGV[2] then
    redis.call('SET', KEYS[1], ARGV[3], 'KEEPTTL') return 1
  end
elseif redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3]) return 1
end
return 0
"""


class RekeyInterrupted(Exception):
    """The pass stopped early; the checkpoint holds where it was, a rerun continues."""


@dataclass
class RekeyResult:
    scanned: int = 0  # keys SCAN returned, this pass (including before a resume)
    resealed: int = 0  # values moved from the previous key to the current one
    current: int = 0  # values already under the current key
    unreadable: int = 0  # values neither key opens (left as they are)
    resumed: bool = False
    unreadable_keys: list[str] = field(default_factory=list)  # the first 20, for the operator

    def as_dict(self) -> dict[str, Any]:
        return {"scanned": self.scanned, "resealed": self.resealed, "current": self.current,
                "unreadable": self.unreadable, "resumed": self.resumed,
                "unreadable_keys": self.unreadable_keys}


def fingerprint(settings: Settings) -> str:
    """Names the target key in the checkpoint without revealing it."""
    return hashlib.sha256(settings.data_key_bytes).hexdigest()[:16]


def checkpoint(r: redis.Redis, settings: Settings) -> dict[str, str]:
    return r.hgetall(keys.rekey_checkpoint(fingerprint(settings)))


def _kind_of(key: str) -> Sealed | None:
    return next((s for s in SEALED if fnmatch.fnmatchcase(key, s.glob)), None)


def _nodes(r: Any) -> list[tuple[str, Any]]:
    """(name, scan target): every primary of a cluster, or the one server."""
    if hasattr(r, "get_primaries"):  # redis.cluster.RedisCluster
        return [(node.name, node) for node in r.get_primaries()]
    return [("server", None)]


def _scan(r: Any, node: Any, cursor: int, count: int) -> tuple[int, list[str]]:
    match = f"{keys.PREFIX}*"
    if node is None:
        return r.scan(cursor, match=match, count=count)
    cursors, found = r.scan(cursor, match=match, count=count, target_nodes=node)
    return int(next(iter(cursors.values()))), found


def total_keys(r: Any) -> int:
    """Keys in the database (all primaries): the progress bar's total."""
    if hasattr(r, "get_primaries"):
        return sum(int(r.dbsize(target_nodes=node)) for node in r.get_primaries())
    return int(r.dbsize())


def rekey(
    r: redis.Redis, settings: Settings, *, count: int = SCAN_COUNT, restart: bool = False,
    on_batch: Callable[[int], None] | None = None,
) -> RekeyResult:
    """One pass (or the rest of an interrupted one) over every sealed value.

    ``on_batch(keys_scanned)`` is called after each checkpointed batch (a progress bar).
    """
    ck = keys.rekey_checkpoint(fingerprint(settings))
    state = r.hgetall(ck)
    if restart or not state or state.get("finished_at"):
        r.delete(ck)
        r.hset(ck, mapping={"started_at": int(time.time()), "scanned": 0, "resealed": 0,
                            "current": 0, "unreadable": 0})
        r.expire(ck, CHECKPOINT_TTL)
        state = {}
    result = RekeyResult(resumed=bool(state.get("scanned")))
    for name in ("scanned", "resealed", "current", "unreadable"):
        setattr(result, name, int(state.get(name) or 0))
    try:
        for node_name, node in _nodes(r):
            cursor_field = f"cursor:{node_name}"
            if state.get(cursor_field) == "done":
                continue
            cursor = int(state.get(cursor_field, 0))
            while True:
                cursor, found = _scan(r, node, cursor, count)
                tally = _reseal_batch(r, settings, found, result)
                pipe = r.pipeline(transaction=True)
                pipe.hset(ck, cursor_field, cursor or "done")
                for name, n in tally.items():
                    pipe.hincrby(ck, name, n)
                pipe.expire(ck, CHECKPOINT_TTL)
                pipe.execute()
                if on_batch is not None:
                    on_batch(len(found))
                if cursor == 0:
                    break
    except KeyboardInterrupt:
        raise RekeyInterrupted("interrupted: the checkpoint is in Redis; rerun the same "
                               "command to continue") from None
    r.hset(ck, "finished_at", int(time.time()))
    return result


def _reseal_batch(r: redis.Redis, settings: Settings, found: list[str],
                  result: RekeyResult) -> dict[str, int]:
    tally = {"scanned": len(found), "resealed": 0, "current": 0, "unreadable": 0}
    for key in found:
        kind = _kind_of(key)
        if kind is None:
            continue
        outcome = _reseal_one(r, settings, key, kind)
        if outcome is None:
            continue  # gone meanwhile, or no blob
        tally[outcome] += 1
        if outcome == "unreadable" and len(result.unreadable_keys) < 20:
            result.unreadable_keys.append(key)
    for name, n in tally.items():
        setattr(result, name, getattr(result, name) + n)
    return tally


def _reseal_one(r: redis.Redis, settings: Settings, key: str, kind: Sealed) -> str | None:
    for _ in range(MAX_TRIES):
        try:
            blob = r.get(key) if kind.field is None else r.hget(key, kind.field)
        except redis.ResponseError:  # WRONGTYPE: not ours after all
            return None
        if not blob or (kind.marker and blob.startswith(kind.marker)):
            return None
        try:
            fresh = reseal(settings, blob, kind.context(key), legacy=kind.legacy)
        except PersonalDataError:
            return "unreadable"
        if fresh is None:
            return "current"
        if r.eval(_COMPARE_AND_SET, 1, key, kind.field or "", blob, fresh):
            return "resealed"
    return "current"  # rewritten by the service each time: by an instance on the current key
