"""Event pushes to the Official Account's server URL, the way WeChat makes them.

Signed (``signature``), encrypted in safe mode (``msg_signature``), 5 s timeout, 3 attempts in
all until the answer is HTTP 200 with ``success`` or an empty body. Synchronous, so tests see the
event delivered when the simulator call returns.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from typing import Any
from xml.sax.saxutils import escape

import requests

from bff.sandbox import crypto
from bff.sandbox.core import Sandbox

log = logging.getLogger(__name__)

PUSH_TIMEOUT = 5.0
PUSH_ATTEMPTS = 3
_HEAD = ("ToUserName", "FromUserName", "CreateTime", "MsgType", "Event")


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
    """Deliver one event to the configured URL; returns and records what happened."""
    settings = sb.settings()
    url = settings["event_url"]
    record: dict[str, Any] = {
        "event": fields.get("Event"), "card_id": fields.get("CardId"),
        "code": fields.get("UserCardCode"), "openid": fields.get("FromUserName"),
        "create_time": fields.get("CreateTime"), "delivered": False, "attempts": 0,
        "http_status": None, "safe_mode": settings["safe_mode"],
    }
    if not url:
        record["skipped"] = "no event_url"
        _remember(sb, record)
        return record
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
    body = plain
    if settings["safe_mode"]:
        encrypted = crypto.encrypt_push(sb.config.push_aes_key, sb.config.oa_appid, plain)
        params["encrypt_type"] = "aes"
        params["msg_signature"] = crypto.sorted_sha1(token, timestamp, nonce, encrypted)
        to_user = escape(str(fields.get("ToUserName", "")))
        body = (f"<xml><ToUserName><![CDATA[{to_user}]]></ToUserName>"
                f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>")
    for attempt in range(1, PUSH_ATTEMPTS + 1):
        record["attempts"] = attempt
        try:
            resp = sb.push_session.post(
                url, params=params, data=body.encode("utf-8"),
                headers={"Content-Type": "text/xml; charset=utf-8"}, timeout=PUSH_TIMEOUT,
            )
        except requests.RequestException as e:
            record["http_status"] = None
            record["error"] = type(e).__name__
            continue
        record["http_status"] = resp.status_code
        if resp.status_code == 200 and resp.text.strip() in ("", "success"):
            record["delivered"] = True
            break
    if not record["delivered"]:
        log.warning("sandbox push of %s to %s failed after %d attempts",
                    record["event"], url, record["attempts"])
    _remember(sb, record)
    return record


def summary(record: dict[str, Any]) -> dict[str, Any]:
    """The part of a push record that simulator answers show."""
    return {k: record.get(k) for k in ("event", "delivered", "attempts", "http_status")}


def _remember(sb: Sandbox, record: dict[str, Any]) -> None:
    record["at"] = time.time()
    pipe = sb.r.pipeline()
    pipe.lpush(sb.keys.pushes, json.dumps(record))
    pipe.ltrim(sb.keys.pushes, 0, sb.settings()["push_history"] - 1)
    pipe.execute()


def recent_pushes(sb: Sandbox, limit: int) -> list[dict[str, Any]]:
    return [json.loads(x) for x in sb.r.lrange(sb.keys.pushes, 0, max(limit, 1) - 1)]
