"""The audit log: who changed what, through which endpoint or command, and how it ended.

One entry per state-changing operator request (any method but GET/HEAD/OPTIONS under
``/v1/admin``, console sign-in and sign-out included, refusals after authentication too) and per
state-changing ``bff`` command (operator ``cli``): time, operator name and role, how it
authenticated (``bearer``, ``session`` or ``cli``), action (the endpoint, or the command), method,
path (never the query string; ids may appear, secrets never do), status (HTTP status; a
command's exit code) and request id. Kept in one Redis stream (``bff.store.keys.audit_log``),
trimmed to about ``MAX_ENTRIES`` newest entries. No Flask here.
"""

from __future__ import annotations

import time
from typing import Any

import redis

from bff.store import keys

MAX_ENTRIES = 100_000  # XADD MAXLEN ~: Redis trims whole nodes, so a few more may stay
FIELDS = ("at", "operator", "role", "via", "action", "method", "path", "status", "request_id")


def record(r: redis.Redis, *, operator: str, role: str, via: str, action: str, method: str,
           path: str, status: int, request_id: str | None,
           at: float | None = None) -> str:
    """Append one entry; its stream id."""
    entry = {"at": f"{at if at is not None else time.time():.3f}", "operator": operator,
             "role": role, "via": via, "action": action, "method": method, "path": path,
             "status": str(status), "request_id": request_id or ""}
    return r.xadd(keys.audit_log(), entry, maxlen=MAX_ENTRIES, approximate=True)


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
    newest = f"({before}" if before else "+"
    found = r.xrevrange(keys.audit_log(), max=newest, min="-", count=limit + 1)
    page = [_public(entry_id, values) for entry_id, values in found[:limit]]
    return page, (page[-1]["id"] if len(found) > limit else None)
