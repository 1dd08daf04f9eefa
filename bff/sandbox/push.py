"""Event pushes to the Official Account's server URL, the way WeChat makes them.

Signed (``signature``), encrypted in safe mode (``msg_signature``), 5 s timeout, 3 attempts in
all until the answer is HTTP 200 with ``success`` or an empty body.

By default a push is synchronous: tests see the event delivered when the simulator call
returns. Real WeChat promises no such thing, and ``/_sim/config`` can make the sandbox behave
like it:

- ``push_delay_ms``: each push is made that long later, from a background thread of this
  process, in the order the pushes were made (a retry after a dropped attempt waits as long
  again);
- ``push_drop``: the first N attempts of each push are not delivered (lost on the way, as when
  the server did not answer in 5 s); WeChat then tries again, 3 attempts in all, so 3 loses the
  push for good, as when WeChat gives up;
- ``push_duplicate``: each push is delivered twice (the same event, as WeChat's retry of a push
  whose answer it did not see);
- ``push_reorder``: the pushes one simulator or API call makes (a batch) are delivered in
  reverse order, after the call has answered.

A push that is made later is answered as ``{"scheduled": true, "delivered": null}``; what
happened to it is in ``GET /_sim/pushes`` once made; ``POST /_sim/pushes/wait`` waits until
every scheduled push of this process has been made.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any
from xml.sax.saxutils import escape

import requests
from flask import g

from bff.sandbox import crypto
from bff.sandbox.core import Sandbox
from bff.sandbox.web import in_request

log = logging.getLogger(__name__)

PUSH_TIMEOUT = 5.0
PUSH_ATTEMPTS = 3
_HEAD = ("ToUserName", "FromUserName", "CreateTime", "MsgType", "Event")
_BATCH = "sandbox_push_batch"  # flask.g: the pushes of this request, when reordered


def event_xml(fields: dict[str, Any]) -> str:
    """``<xml>`` with strings in CDATA and numbers bare, head fields first."""
    ordered = [k for k in _HEAD if k in fields] + [k for k in fields if k not in _HEAD]
    parts = ["<xml>"]
    for name in ordered:
        value = fields[name]
        if value is None:
            continue
        if isinstance(value, bool):
            parts.append(f"<{name}>{int(value)}</{name}>")
        elif isinstance(value, int | float):
            parts.append(f"<{name}>{value}</{name}>")
        else:
            text = str(value).replace("]]>", "]]]]><![CDATA[>")
            parts.append(f"<{name}><![CDATA[{text}]]></{name}>")
    parts.append("</xml>")
    return "".join(parts)


def card_event(sb: Sandbox, event: str, openid: str, **extra: Any) -> dict[str, Any]:
    """The common fields of a card event, then ``extra`` in the given order."""
    fields: dict[str, Any] = {
        "ToUserName": crypto.gh_id(sb.config.oa_appid),
        "FromUserName": openid,
        "CreateTime": int(sb.clock.now()),
        "MsgType": "event",
        "Event": event,
    }
    fields.update(extra)
    return fields


def push_event(sb: Sandbox, fields: dict[str, Any]) -> dict[str, Any]:
    """Deliver one event to the configured URL, now or as the push timing settings say;
    returns (and, once made, records) what happened."""
    settings = sb.settings()
    if settings["push_reorder"] and in_request():
        g.setdefault(_BATCH, []).append(fields)
        return _scheduled(fields)
    if settings["push_delay_ms"]:
        sb.push_queue.put(settings["push_delay_ms"] / 1000,
                          lambda: deliver(sb, fields, sb.settings()))
        return _scheduled(fields)
    return deliver(sb, fields, settings)


def flush_batch(sb: Sandbox) -> None:
    """At the end of a request: the pushes held back by ``push_reorder``, in reverse order."""
    batch = g.pop(_BATCH, None)
    if not batch:
        return
    delay = sb.settings()["push_delay_ms"]
    for fields in reversed(batch):
        if delay:
            sb.push_queue.put(delay / 1000, lambda f=fields: deliver(sb, f, sb.settings()))
        else:
            deliver(sb, fields, sb.settings())


def _record(fields: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    return {
        "event": fields.get("Event"), "card_id": fields.get("CardId"),
        "code": fields.get("UserCardCode"), "openid": fields.get("FromUserName"),
        "create_time": fields.get("CreateTime"), "delivered": False, "attempts": 0,
        "http_status": None, "safe_mode": settings["safe_mode"],
    }


def _scheduled(fields: dict[str, Any]) -> dict[str, Any]:
    return {"event": fields.get("Event"), "delivered": None, "attempts": 0,
            "http_status": None, "scheduled": True}


def _envelope(sb: Sandbox, fields: dict[str, Any], safe_mode: bool
              ) -> tuple[dict[str, str], str]:
    """The query parameters and body of one attempt (signed now, with a fresh nonce)."""
    plain = event_xml(fields)
    timestamp = str(int(sb.clock.now()))
    nonce = str(secrets.randbelow(10**10))
    token = sb.config.push_token
    params = {
        "signature": crypto.sorted_sha1(token, timestamp, nonce),
        "timestamp": timestamp,
        "nonce": nonce,
        "openid": str(fields.get("FromUserName", "")),
    }
    if not safe_mode:
        return params, plain
    encrypted = crypto.encrypt_push(sb.config.push_aes_key, sb.config.oa_appid, plain)
    params["encrypt_type"] = "aes"
    params["msg_signature"] = crypto.sorted_sha1(token, timestamp, nonce, encrypted)
    to_user = escape(str(fields.get("ToUserName", "")))
    return params, (f"<xml><ToUserName><![CDATA[{to_user}]]></ToUserName>"
                    f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>")


def _post(sb: Sandbox, url: str, fields: dict[str, Any], safe_mode: bool,
          record: dict[str, Any]) -> bool:
    params, body = _envelope(sb, fields, safe_mode)
    try:
        resp = sb.push_session.post(
            url, params=params, data=body.encode("utf-8"),
            headers={"Content-Type": "text/xml; charset=utf-8"}, timeout=PUSH_TIMEOUT,
        )
    except requests.RequestException as e:
        record["http_status"] = None
        record["error"] = type(e).__name__
        return False
    record["http_status"] = resp.status_code
    return resp.status_code == 200 and resp.text.strip() in ("", "success")


def deliver(sb: Sandbox, fields: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    """Make the push now: up to 3 attempts (the first ``push_drop`` of them lost, each retry
    after ``push_delay_ms``), then once more with ``push_duplicate``; records what happened."""
    url = settings["event_url"]
    record = _record(fields, settings)
    if not url:
        record["skipped"] = "no event_url"
        _remember(sb, record)
        return record
    for attempt in range(1, PUSH_ATTEMPTS + 1):
        record["attempts"] = attempt
        if attempt > 1 and settings["push_delay_ms"]:
            time.sleep(settings["push_delay_ms"] / 1000)  # WeChat's retry comes later
        if attempt <= settings["push_drop"]:
            record["dropped"] = attempt
            record["error"] = "dropped (push_drop)"
            continue
        record.pop("error", None)
        if _post(sb, url, fields, settings["safe_mode"], record):
            record["delivered"] = True
            break
    if record["delivered"] and settings["push_duplicate"]:
        record["duplicated"] = _post(sb, url, fields, settings["safe_mode"], {})
    if not record["delivered"]:
        log.warning("sandbox push of %s to %s failed after %d attempts",
                    record["event"], url, record["attempts"])
    _remember(sb, record)
    return record


class PushQueue:
    """The pushes this process makes later: one background thread delivers them in order,
    each no sooner than it is due; the thread ends when there is nothing left to do."""

    def __init__(self) -> None:
        self._jobs: deque[tuple[float, Callable[[], Any]]] = deque()
        self._cond = threading.Condition()
        self._running = False
        self._busy = 0

    def put(self, delay: float, job: Callable[[], Any]) -> None:
        with self._cond:
            self._jobs.append((time.monotonic() + delay, job))
            if not self._running:
                self._running = True
                threading.Thread(target=self._run, name="sandbox-push", daemon=True).start()

    def pending(self) -> int:
        with self._cond:
            return len(self._jobs) + self._busy

    def wait(self, timeout: float) -> bool:
        """True when every push put so far has been made (within ``timeout`` seconds)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._jobs or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True

    def _run(self) -> None:
        while True:
            with self._cond:
                if not self._jobs:
                    self._running = False
                    self._cond.notify_all()
                    return
                due, job = self._jobs.popleft()
                self._busy += 1
            try:
                wait = due - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                job()
            except Exception:  # a push that fails must not stop the others
                log.exception("sandbox: a scheduled push failed")
            finally:
                with self._cond:
                    self._busy -= 1
                    self._cond.notify_all()


def summary(record: dict[str, Any]) -> dict[str, Any]:
    """The part of a push record that simulator answers show."""
    shown = {k: record.get(k) for k in ("event", "delivered", "attempts", "http_status")}
    if record.get("scheduled"):
        shown["scheduled"] = True
    return shown


def _remember(sb: Sandbox, record: dict[str, Any]) -> None:
    record["at"] = time.time()
    pipe = sb.r.pipeline()
    pipe.lpush(sb.keys.pushes, json.dumps(record))
    pipe.ltrim(sb.keys.pushes, 0, sb.settings()["push_history"] - 1)
    pipe.execute()


def recent_pushes(sb: Sandbox, limit: int) -> list[dict[str, Any]]:
    return [json.loads(x) for x in sb.r.lrange(sb.keys.pushes, 0, max(limit, 1) - 1)]
