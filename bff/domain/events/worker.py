"""The consumer group that handles recorded events after they were acknowledged to WeChat.

Each worker (``bff worker``) reads new entries with XREADGROUP, handles them and XACKs. Entries
left pending by a crashed worker are reclaimed with XAUTOCLAIM once idle longer than
``BFF_WORKER_CLAIM_IDLE`` seconds. A failing entry is retried on each reclaim; after
``BFF_WORKER_MAX_ATTEMPTS`` deliveries (XPENDING's count) it moves to the dead-letter stream
with its error class (never personal data) and is acknowledged.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from typing import Any

from flask import Flask

from bff.domain.events import handlers
from bff.domain.events.stream import GROUP, ensure_group, retention_min_id
from bff.ground.metrics import EVENTS_HANDLED
from bff.ground.observability import bound_request_id
from bff.ground.services import Services, services
from bff.ground.store import STORE_ERRORS, keys

log = logging.getLogger(__name__)


def _services(target: Flask | Services) -> Services:
    return services(target) if isinstance(target, Flask) else target


def default_consumer() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def _error_label(e: BaseException) -> str:
    errcode = getattr(e, "errcode", None)
    return type(e).__name__ + (f" errcode={errcode}" if errcode is not None else "")


def process_stream_entry(svc: Services, entry_id: str, values: dict[str, str]) -> str:
    """Handle one entry: ``done``, ``skipped`` (already done), ``retry`` or ``dead``.

    Every log line written meanwhile (the WeChat calls too) carries ``event:<entry_id>``.
    """
    with bound_request_id(f"event:{entry_id}"):
        log.info("handling event %s %s (pushed in request %s)", entry_id,
                 values.get("event", ""), values.get("request_id") or "-")
        return _process_stream_entry(svc, entry_id, values)


def _process_stream_entry(svc: Services, entry_id: str, values: dict[str, str]) -> str:
    r = svc.redis
    stream = keys.event_stream()
    event = values.get("event", "")
    if r.exists(keys.event_done(entry_id)):
        r.xack(stream, GROUP, entry_id)
        return _outcome(event, "skipped")
    try:
        fields = json.loads(values.get("raw") or "{}")
        handlers.apply_card_event(svc, entry_id, fields)
    except Exception as e:  # any failure: retried, then dead-lettered
        return _failed(svc, entry_id, event, values, e)
    ttl = max(1, svc.settings.event_retention_days) * 86_400
    pipe = r.pipeline(transaction=True)
    pipe.set(keys.event_done(entry_id), "1", ex=ttl)
    pipe.xack(stream, GROUP, entry_id)
    pipe.execute()
    return _outcome(event, "done")


def _failed(svc: Services, entry_id: str, event: str, values: dict[str, str],
            e: Exception) -> str:
    r = svc.redis
    pending = r.xpending_range(keys.event_stream(), GROUP, entry_id, entry_id, 1)
    attempts = int(pending[0]["times_delivered"]) if pending else 1
    label = _error_label(e)
    if attempts < svc.settings.worker_max_attempts:
        log.warning("event %s %s failed (attempt %d): %s", entry_id, event, attempts, label)
        return _outcome(event, "retry")
    log.error("event %s %s dead-lettered after %d attempts: %s", entry_id, event, attempts, label)
    pipe = r.pipeline(transaction=True)
    pipe.xadd(keys.event_dead(), {
        "entry": entry_id, "event": event, "card_id": values.get("card_id", ""),
        "error": label, "attempts": str(attempts), "failed_at": str(int(time.time())),
    }, minid=retention_min_id(svc.settings.event_retention_days), approximate=True)
    pipe.xack(keys.event_stream(), GROUP, entry_id)
    pipe.execute()
    return _outcome(event, "dead")


def _outcome(event: str, outcome: str) -> str:
    EVENTS_HANDLED.labels(event or "unknown", outcome).inc()
    return outcome


def _handle_all(svc: Services, entries: list[Any], counts: dict[str, int]) -> None:
    for entry_id, values in entries:
        if values is None:  # trimmed away while pending
            svc.redis.xack(keys.event_stream(), GROUP, entry_id)
            continue
        outcome = process_stream_entry(svc, entry_id, values)
        counts[outcome] = counts.get(outcome, 0) + 1


def reclaim(svc: Services, consumer: str, min_idle_ms: int, counts: dict[str, int]) -> int:
    """Take over and handle entries idle for ``min_idle_ms`` (a crashed worker's); how many."""
    r, cursor, taken = svc.redis, "0-0", 0
    while True:
        cursor, entries, *_ = r.xautoclaim(keys.event_stream(), GROUP, consumer, min_idle_ms,
                                           cursor, count=svc.settings.worker_batch_size)
        _handle_all(svc, entries, counts)
        taken += len(entries)
        if cursor in ("0-0", b"0-0"):
            return taken


def read_new(svc: Services, consumer: str, counts: dict[str, int], block_ms: int | None) -> int:
    resp = svc.redis.xreadgroup(GROUP, consumer, {keys.event_stream(): ">"},
                                count=svc.settings.worker_batch_size, block=block_ms)
    entries = resp[0][1] if resp else []
    _handle_all(svc, entries, counts)
    return len(entries)


def process_pending(target: Flask | Services, *, consumer: str = "drain",
                    min_idle_ms: int = 0, max_rounds: int = 1000) -> dict[str, int]:
    """Handle everything not yet handled, synchronously (tests, ``bff worker --once``).

    New entries first, then pending ones idle ``min_idle_ms`` or more (0: any, including ones
    another consumer holds), until nothing is left or ``max_rounds`` passes. Returns outcome
    counts.
    """
    svc = _services(target)
    ensure_group(svc.redis)
    counts: dict[str, int] = {}
    for _ in range(max_rounds):
        if not read_new(svc, consumer, counts, None) and not reclaim(
                svc, consumer, min_idle_ms, counts):
            break
    return counts


def run_worker(target: Flask | Services, stop: threading.Event, *,
               consumer: str | None = None) -> None:
    """Loop until ``stop`` is set: reclaim idle entries now and then, read and handle new ones."""
    svc = _services(target)
    consumer = consumer or default_consumer()
    idle_ms = svc.settings.worker_claim_idle * 1000
    last_claim = 0.0
    log.info("event worker %s started", consumer)
    while not stop.is_set():
        counts: dict[str, int] = {}
        try:
            ensure_group(svc.redis)
            if time.monotonic() - last_claim >= max(1.0, svc.settings.worker_claim_idle / 2):
                reclaim(svc, consumer, idle_ms, counts)
                last_claim = time.monotonic()
            read_new(svc, consumer, counts, svc.settings.worker_block_ms)
        except STORE_ERRORS as e:
            if stop.is_set():  # stopping (Ctrl-C on bff dev): its Redis may be going too
                break
            log.error("event worker: redis unavailable (%s); retrying in 1 s", type(e).__name__)
            stop.wait(1.0)
    log.info("event worker %s stopped", consumer)


def start_worker_thread(app: Flask, consumer: str | None = None) -> tuple[threading.Thread,
                                                                         threading.Event]:
    """Run a worker in a daemon thread (``bff dev``); set the returned event to stop it."""
    stop = threading.Event()
    thread = threading.Thread(target=run_worker, args=(app, stop),
                              kwargs={"consumer": consumer}, name="bff-event-worker", daemon=True)
    thread.start()
    return thread, stop
