"""Prometheus metrics of the service. Labels never carry tokens, secrets, openids or codes."""

from __future__ import annotations

import os
import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

REGISTRY = CollectorRegistry(auto_describe=True)

UPSTREAM_CALLS = Counter(
    "bff_upstream_calls_total",
    "Calls to WeChat by API path and errcode (0 = success, 'transport' = no answer).",
    ["path", "errcode"],
    registry=REGISTRY,
)
UPSTREAM_LATENCY = Histogram(
    "bff_upstream_latency_seconds",
    "Latency of calls to WeChat by API path.",
    ["path"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)
CREDENTIAL_REFRESHES = Counter(
    "bff_credential_refreshes_total",
    "Credentials fetched from WeChat, by kind (access_token, ticket_wx_card, ticket_jsapi).",
    ["kind"],
    registry=REGISTRY,
)
LOCK_WAITS = Counter(
    "bff_credential_lock_waits_total",
    "Times a process waited for another one to refresh a credential.",
    ["kind"],
    registry=REGISTRY,
)
IDENTITY_CONFLICTS = Counter(
    "bff_identity_link_conflicts_total",
    "Openid/unionid links refused because they contradict an existing link.",
    ["source"],
    registry=REGISTRY,
)
EVENTS = Counter(
    "bff_wechat_events_total",
    "WeChat push events by event type and outcome (recorded, duplicate, rejected).",
    ["event", "outcome"],
    registry=REGISTRY,
)
REDEMPTIONS = Counter(
    "bff_redemptions_total",
    "Code redemptions by channel (counter, self, server) and outcome (consumed, replayed, "
    "refused, failed).",
    ["channel", "outcome"],
    registry=REGISTRY,
)
IMPORTED_CODES = Counter(
    "bff_imported_codes_total",
    "Custom codes handled by the import pipeline, by deposit outcome (succeeded, duplicate, "
    "failed).",
    ["outcome"],
    registry=REGISTRY,
)
EVENTS_HANDLED = Counter(
    "bff_wechat_events_handled_total",
    "Recorded events taken by the worker, by event type and outcome (done, skipped, retry, dead).",
    ["event", "outcome"],
    registry=REGISTRY,
)
EVENT_ACK_LATENCY = Histogram(
    "bff_wechat_event_ack_seconds",
    "Time from receiving a push to acknowledging it, by mode (safe, plain).",
    ["mode"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5),
    registry=REGISTRY,
)


_CHILDREN: dict[tuple[int, tuple[str, ...]], Any] = {}
_MAX_CHILDREN = 1024


def labelled(metric: Counter | Histogram, *values: str) -> Any:
    """``metric.labels(*values)``, kept for the next call: ``labels()`` checks, converts and
    locks each time, which the event acknowledgement paid twice per push (issue 18). The
    children are the metric's own, so what they count is exported as before; past
    ``_MAX_CHILDREN`` label sets (values from pushes) nothing more is kept."""
    key = (id(metric), values)
    child = _CHILDREN.get(key)
    if child is None:
        child = metric.labels(*values)
        if len(_CHILDREN) < _MAX_CHILDREN:
            _CHILDREN[key] = child
    return child


RENDERED_FOR = 1.0  # seconds a rendering of the metrics is served again (``exposition``)
_rendered: tuple[float, bytes] = (float("-inf"), b"")


def exposition() -> bytes:
    """The metrics in Prometheus' text format, rendered at most once a ``RENDERED_FOR``:
    prometheus-client formats every sample in Python (about 1 ms for a busy worker's few
    hundred lines, 1,600 requests/s for /metrics against 4,000 for /healthz), and a scraper
    asks every 15 s or more. With ``PROMETHEUS_MULTIPROC_DIR`` set (several workers), every
    worker's values added up (prometheus-client's multiprocess mode)."""
    global _rendered
    at, body = _rendered
    now = time.monotonic()
    if now - at >= RENDERED_FOR:
        registry = REGISTRY
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            MultiProcessCollector(registry)
        body = generate_latest(registry)
        _rendered = (now, body)
    return body
