"""The audit log: who changed what, through which endpoint or command, and how it ended.

One entry per state-changing operator request (any method but GET/HEAD/OPTIONS under
``/v1/admin``, console sign-in and sign-out included, refusals after authentication too) and per
state-changing ``bff`` command (operator ``cli``): time, operator name and role, how it
authenticated (``bearer``, ``session`` or ``cli``), action (the endpoint, or the command), method,
path (never the query string; ids may appear, secrets never do), status (HTTP status; a
command's exit code) and request id. Kept in one Redis stream (``bff.ground.store.keys.audit_log``),
trimmed by age (``RETENTION_SECONDS``), never by count, so the operators it watches cannot push
entries out. An operator's refused requests beyond ``REFUSALS_LISTED_PER_MINUTE`` in a minute are
counted, not listed: one entry says so (action ``refusals-counted``), and the count is kept.
No Flask here.
"""

from __future__ import annotations

import time
from typing import Any

import redis

from bff.ground.store import keys

RETENTION_SECONDS = 400 * 86400  # XADD MINID: entries older than this go
REFUSALS_LISTED_PER_MINUTE = 30  # an operator's refusals listed one by one in a minute
REFUSALS_COUNTED = "refusals-counted"
FIELDS = ("at", "operator", "role", "via", "action", "method", "path", "status", "request_id")


def record(r: redis.Redis, *, operator: str, role: str, via: str, action: str, method: str,
           path: str, status: int, request_id: str | None,
           at: float | None = None) -> str | None:
    """Append one entry; its stream id (None for a refusal past the minute's bound, which is
    only counted)."""
    now = at if at is not None else time.time()
    if status >= 400:
        minute = int(now // 60)
        key = keys.audit_refusals(operator, minute)
        pipe = r.pipeline(transaction=False)
        pipe.incr(key)
        pipe.expire(key, 120)
        seen = int(pipe.execute()[0])
        if seen > REFUSALS_LISTED_PER_MINUTE + 1:
            return None
        if seen == REFUSALS_LISTED_PER_MINUTE + 1:  # the one entry that says the rest are counted
            action, method, path = REFUSALS_COUNTED, "", (
                f"more than {REFUSALS_LISTED_PER_MINUTE} refused requests in the minute from "
                f"{time.strftime('%Y-%m-%dT%H:%M:00Z', time.gmtime(minute * 60))}; counted in "
                f"{key}")
    entry = {"at": f"{now:.3f}", "operator": operator, "role": role, "via": via,
             "action": action, "method": method, "path": path, "status": str(status),
             "request_id": request_id or ""}
    # stream ids are Redis's clock in ms: entries older than the retention go (exactly: an
    # audit entry is written per operator action, rare enough for the exact trim)
    oldest = max(0, int((time.time() - RETENTION_SECONDS) * 1000))
    return r.xadd(keys.audit_log(), entry, minid=str(oldest), approximate=False)


def _public(entry_id: str, values: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {"id": entry_id, **{name: values.get(name, "") for name in FIELDS}}
    out["at"] = float(values.get("at") or 0)
    out["status"] = int(values.get("status") or 0)
    out["request_id"] = values.get("request_id") or None
    return out


def read(r: redis.Redis, *, limit: int, before: str | None = None
         ) -> tuple[list[dict[str, Any]], str | None]:
    """Entries newest first, older than ``before`` (a stream id) when given; and the id to pass
    as ``before`` for the next page (None when this page reaches the oldest entry)."""
    if before is not None:
        ms, _, seq = before.partition("-")
        if int(ms) == int(seq or 0) == 0:  # nothing is older than the first possible id
            return [], None
    newest = f"({before}" if before else "+"
    found = r.xrevrange(keys.audit_log(), max=newest, min="-", count=limit + 1)
    page = [_public(entry_id, values) for entry_id, values in found[:limit]]
    return page, (page[-1]["id"] if len(found) > limit else None)
