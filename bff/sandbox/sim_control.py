"""Controls of the sandbox itself: faults, clock, call counts, reset, settings, tickets, pushes."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request
from flask.wrappers import Response

from bff.sandbox.api_auth import current_ticket
from bff.sandbox.core import SimError
from bff.sandbox.push import PUSH_ATTEMPTS, recent_pushes
from bff.sandbox.state import scan_delete
from bff.sandbox.web import sandbox, sim_body, sim_field

bp = Blueprint("sim_control", __name__, url_prefix="/_sim")
MAX_LATENCY_MS = 60_000  # longer than any client timeout: a hang, not a slow WeChat
MAX_PUSH_DELAY_MS = 60_000
FAULT_BOUNDS = {"errcode": (-1, 99_999_999), "http_status": (400, 599),
                "latency_ms": (0, MAX_LATENCY_MS), "latency_after_ms": (0, MAX_LATENCY_MS)}


def normalise_path(path: str) -> str:
    """``/cgi-bin/token``, ``cgi-bin/token`` and ``/sandbox/cgi-bin/token`` name one path."""
    path = path.split("?", 1)[0].strip().strip("/")
    return path.removeprefix("sandbox/")


@bp.post("/faults")
def add_fault() -> Response:
    sb = sandbox()
    body = sim_body()
    path = body.get("path")
    if not isinstance(path, str) or not normalise_path(path):
        raise SimError("path is required, e.g. /cgi-bin/stable_token")
    fault: dict[str, Any] = {}
    for name, (low, high) in FAULT_BOUNDS.items():
        value = sim_field(body, name, "int", nullable=True, low=low, high=high)
        if value is not None:
            fault[name] = value
    if not fault:
        raise SimError("give errcode, http_status, latency_ms and/or latency_after_ms")
    count = sim_field(body, "count", "int", 1, low=1, high=1_000_000)
    path = normalise_path(path)
    key = sb.keys.fault(path)
    pipe = sb.r.pipeline()
    pipe.delete(key)
    pipe.hset(key, mapping={**fault, "count": count})
    pipe.execute()
    return jsonify(path=path, count=count, **fault)


@bp.get("/faults")
def list_faults() -> Response:
    sb = sandbox()
    start = len(sb.keys.fault(""))
    faults = {}
    for key in sb.r.scan_iter(match=sb.keys.fault("*")):
        data = sb.r.hgetall(key)
        if data:
            faults[key[start:]] = {k: int(v) for k, v in data.items()}
    return jsonify(faults)


@bp.delete("/faults")
def clear_faults() -> Response:
    sb = sandbox()
    return jsonify(deleted=scan_delete(sb.r, sb.keys.fault("*")))


@bp.get("/clock")
def get_clock() -> Response:
    sb = sandbox()
    return jsonify(now=sb.clock.now(), offset=float(sb.r.get(sb.keys.clock) or 0))


@bp.post("/clock")
def advance_clock() -> Response:
    sb = sandbox()
    body = sim_body()
    seconds = sim_field(body, "advance_seconds", "number", 0)
    if seconds < 0:
        raise SimError("the sandbox clock only moves forward")
    if seconds > 100 * 365 * 86400:
        raise SimError("advance_seconds: at most a hundred years at a time", 422)
    now = sb.clock.advance(seconds)
    return jsonify(now=now, offset=float(sb.r.get(sb.keys.clock) or 0))


@bp.get("/calls")
def get_calls() -> Response:
    sb = sandbox()
    return jsonify({path: int(n) for path, n in sb.r.hgetall(sb.keys.calls).items()})


@bp.delete("/calls")
def reset_calls() -> Response:
    sb = sandbox()
    sb.r.delete(sb.keys.calls)
    return jsonify({})


@bp.post("/reset")
def reset() -> Response:
    """Forget everything the sandbox stored (only keys under its prefix)."""
    sb = sandbox()
    return jsonify(deleted=scan_delete(sb.r, sb.config.prefix + "*"))


@bp.get("/config")
def get_config() -> Response:
    return jsonify(sandbox().settings())


@bp.put("/config")
def put_config() -> Response:
    body = sim_body()
    unknown = set(body) - {"event_url", "safe_mode", "latency_ms", "push_history",
                           "push_delay_ms", "push_drop", "push_duplicate", "push_reorder"}
    if unknown:
        raise SimError(f"unknown settings: {', '.join(sorted(unknown))}")
    sim_field(body, "event_url", "str", nullable=True)
    sim_field(body, "safe_mode", "bool", nullable=True)
    sim_field(body, "latency_ms", "int", nullable=True, low=0, high=MAX_LATENCY_MS)
    sim_field(body, "push_delay_ms", "int", nullable=True, low=0, high=MAX_PUSH_DELAY_MS)
    sim_field(body, "push_drop", "int", nullable=True, low=0, high=PUSH_ATTEMPTS)
    sim_field(body, "push_duplicate", "bool", nullable=True)
    sim_field(body, "push_reorder", "bool", nullable=True)
    return jsonify(sandbox().update_settings(body))


@bp.get("/tickets")
def get_tickets() -> Response:
    """The Official Account's current tickets (created if none is valid, as getticket would)."""
    sb = sandbox()
    appid = sb.config.oa_appid
    return jsonify({kind: current_ticket(sb, appid, kind)[0] for kind in ("wx_card", "jsapi")})


@bp.get("/pushes")
def get_pushes() -> Response:
    limit = request.args.get("limit", default=20, type=int) or 20
    sb = sandbox()
    return jsonify(pushes=recent_pushes(sb, max(1, min(limit, sb.settings()["push_history"]))))


@bp.post("/pushes/wait")
def wait_for_pushes() -> Response:
    """Wait until every push this process scheduled (push_delay_ms) has been made, at most
    ``timeout_ms``; ``{done, pending}``."""
    body = sim_body()
    timeout = sim_field(body, "timeout_ms", "int", 10_000, low=0, high=MAX_LATENCY_MS)
    queue = sandbox().push_queue
    done = queue.wait(timeout / 1000)
    return jsonify(done=done, pending=queue.pending())
