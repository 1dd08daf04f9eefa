"""The durable event stream: record once (dedup marker + XADD in one Lua script), read in order.

Retention: entries older than ``BFF_EVENT_RETENTION_DAYS`` are trimmed (XADD ``MINID ~``, so
a little later than exactly), the dead-letter stream likewise. Dedup markers live
``BFF_EVENT_DEDUP_TTL`` (WeChat retries within ~15 s; three days covers late replays).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from itertools import chain
from typing import Any

import redis

from bff.domain.events.parse import as_int, audit_fields, dedup_digest
from bff.domain.events.receipt import SCRIPTS as RECEIPT_SCRIPTS
from bff.domain.events.receipt import Receipt, add_receipt, take_off
from bff.ground.observability import current_request_id
from bff.ground.store import coalesce, keys

log = logging.getLogger(__name__)

GROUP = "handlers"
DAY_MS = 86_400_000
# json.dumps with options builds an encoder per call; an acknowledgement encodes one object.
_compact_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


@dataclass(frozen=True)
class Recorded:
    entry_id: str
    duplicate: bool
    replayed: bool = False  # the push's signed pair was used before: nothing recorded


def retention_min_id(retention_days: int, now_ms: int | None = None) -> str:
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    return str(max(0, now_ms - retention_days * DAY_MS))


def entry_fields(fields: dict[str, str], mode: str) -> dict[str, str]:
    """What the stream keeps of an event: the indexed fields and the audit copy."""
    return {
        "event": fields.get("Event", "") or fields.get("MsgType", ""),
        "card_id": fields.get("CardId", ""),
        "code": fields.get("UserCardCode", ""),
        "openid": fields.get("FromUserName", ""),
        "create_time": fields.get("CreateTime", ""),
        "received_at": str(int(time.time() * 1000)),
        "mode": mode,
        "raw": _compact_json(audit_fields(fields)),
        "request_id": current_request_id() or "",  # the push request that brought it
    }


# KEYS: [the push's signed-pair marker,] the dedup marker, the stream. ARGV: the pair's TTL and
# token (unused without a marker), the dedup TTL, the MINID, then the entry's field/value pairs.
# One hash tag ({ev}): cluster-safe. Returns the entry id; '' for a duplicate (the pair is used
# up all the same: the push is answered "success"); 'replayed' when the pair was used before,
# and then nothing is written; 'again' when this very request marked it (its pipeline was sent
# twice: bff.ground.store.coalesce), and then nothing more is written.
_RECORD = coalesce.Script("""
local n = #KEYS
if n == 3 then
  local held = redis.call('GET', KEYS[1])
  if held == ARGV[2] then return 'again' end
  if held then return 'replayed' end
end
local id = ''
if redis.call('EXISTS', KEYS[n - 1]) == 0 then
  id = redis.call('XADD', KEYS[n], 'MINID', '~', ARGV[4], '*', unpack(ARGV, 5))
  redis.call('SET', KEYS[n - 1], '1', 'EX', ARGV[3])
end
if n == 3 then redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[1]) end
return id
""")


def record_event(
    r: redis.Redis, fields: dict[str, str], *, mode: str, dedup_ttl: int, retention_days: int,
    pair: tuple[str, str] | None = None, pair_ttl: int = 0,
    receipt: tuple[Receipt, str] | None = None,
) -> Recorded:
    """Mark the event's dedup identity and append it to the stream, atomically.

    One Lua script (one round trip, shared with concurrent acknowledgements:
    ``bff.ground.store.coalesce``; the embedded store runs Lua too): a crash leaves both or
    neither, so an acknowledged event is in the stream exactly once across all instances.

    ``pair``: the push's signed-pair marker (``keys.push_seen``) and a token of this request,
    checked and set in the same script (the replay check costs no round trip of its own):
    ``Recorded.replayed`` when it was set before, and then nothing is recorded. The marker
    holds the token, so that a caller whose script failed removes its own mark only
    (``store.release_claim``), never an earlier push's.

    ``receipt``: a ``user_get_card``'s receipt and its own marker of the signed pair in the
    holding's hash slot (``keys.receipt_seen``), sent in the same pipeline (no round trip of
    its own): its script writes the holding unless that marker was set before, so a replayed
    push rewrites no holding although the recording's answer is not known yet. Only for a push
    whose body is authenticated (safe mode): a plain push's signature does not cover its body,
    and a forged body could name another code, hence another marker. A receipt that fails is
    logged and left to the worker, which records it again.
    """
    marker = keys.event_dedup(dedup_digest(fields))
    stream = keys.event_stream()
    values = entry_fields(fields, mode)
    minid = retention_min_id(retention_days)
    names = [*([pair[0]] if pair else []), marker, stream]
    args = [pair_ttl, pair[1] if pair else "", dedup_ttl, minid,
            *chain.from_iterable(values.items())]

    def build(pipe: Any) -> None:
        _RECORD.call(pipe, names, args)
        if receipt is not None:
            add_receipt(pipe, receipt[0], (receipt[1], pair_ttl))

    replies = coalesce.send(r, build, scripts=(_RECORD, *RECEIPT_SCRIPTS),
                            raise_on_error=False)
    entry_id = replies[0]
    if isinstance(entry_id, Exception):
        raise entry_id
    if receipt is not None:
        previous = replies[1]
        if any(isinstance(x, Exception) for x in replies[1:]):
            log.warning("could not record the receipt at push time; the worker will")
        else:
            take_off(r, receipt[0], previous)
    if entry_id == "replayed":
        return Recorded(entry_id="", duplicate=False, replayed=True)
    if entry_id == "again":  # sent twice (bff.ground.store.coalesce): this request recorded it
        return Recorded(entry_id="", duplicate=False)
    return Recorded(entry_id=entry_id or "", duplicate=not entry_id)


def ensure_group(r: redis.Redis) -> None:
    """Create the consumer group from the stream's start (idempotent)."""
    try:
        r.xgroup_create(keys.event_stream(), GROUP, id="0", mkstream=True)
    except redis.ResponseError as e:
        if "BUSYGROUP" not in str(e):
            raise


def decode_entry(entry_id: str, values: dict[str, str]) -> dict[str, Any]:
    """The public shape of a stream entry (``GET /v1/admin/events``)."""
    try:
        raw = json.loads(values.get("raw") or "{}")
    except ValueError:
        raw = {}
    return {
        "id": entry_id,
        "event": values.get("event", ""),
        "card_id": values.get("card_id") or None,
        "code": values.get("code") or None,
        "openid": values.get("openid") or None,
        "create_time": as_int(values.get("create_time")),
        "received_at": as_int(values.get("received_at"), 20) or 0,
        "mode": values.get("mode", ""),
        "fields": raw,
    }


def read_events(r: redis.Redis, *, after: str | None, limit: int) -> tuple[list[dict], str | None]:
    """Up to ``limit`` entries strictly after ``after`` (or from the start), and the next cursor."""
    start = f"({after}" if after else "-"
    rows = r.xrange(keys.event_stream(), min=start, max="+", count=limit)
    events = [decode_entry(eid, values) for eid, values in rows]
    next_cursor = events[-1]["id"] if events else after
    return events, next_cursor
