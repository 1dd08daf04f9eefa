"""Pushes built the way WeChat builds them, with an AES routine independent of
bff.ground.wechat.crypto."""

from __future__ import annotations

import base64
import hashlib
import os
import struct
import time
from typing import Any
from urllib.parse import urlencode

from Crypto.Cipher import AES

from bff.ground.config import SANDBOX_APPID, SANDBOX_PUSH_AES_KEY, SANDBOX_PUSH_TOKEN


def sha1_sorted(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def encrypt(message: str, *, key: str = SANDBOX_PUSH_AES_KEY, appid: str = SANDBOX_APPID) -> str:
    """WeChat safe mode: AES-256-CBC, IV = key[:16], random16 + len + msg + appid, PKCS#7/32."""
    aes_key = base64.b64decode(key + "=")
    body = message.encode()
    plain = os.urandom(16) + struct.pack(">I", len(body)) + body + appid.encode()
    pad = 32 - len(plain) % 32
    plain += bytes([pad]) * pad
    return base64.b64encode(AES.new(aes_key, AES.MODE_CBC, aes_key[:16]).encrypt(plain)).decode()


def event_xml(**fields: Any) -> str:
    parts = ["<xml>"]
    for name, value in fields.items():
        if isinstance(value, int):
            parts.append(f"<{name}>{value}</{name}>")
        else:
            parts.append(f"<{name}><![CDATA[{value}]]></{name}>")
    parts.append("</xml>")
    return "".join(parts)


def card_event(event: str, openid: str, card_id: str = "pCARD1", code: str = "",
               create_time: int | None = None, **extra: Any) -> str:
    fields: dict[str, Any] = {"ToUserName": "gh_test", "FromUserName": openid,
                              "CreateTime": create_time or int(time.time()),
                              "MsgType": "event", "Event": event, "CardId": card_id}
    if code:
        fields["UserCardCode"] = code
    fields.update(extra)
    return event_xml(**fields)


def signed_request(xml: str | bytes, *, safe: bool = True, timestamp: int | None = None,
                   token: str = SANDBOX_PUSH_TOKEN, key: str = SANDBOX_PUSH_AES_KEY,
                   appid: str = SANDBOX_APPID, raw_body: bytes | None = None) -> tuple[str, bytes]:
    """(url, body) of a push; ``raw_body`` replaces the (outer) body after signing."""
    ts = str(timestamp if timestamp is not None else int(time.time()))
    nonce = str(int.from_bytes(os.urandom(4), "big"))
    text = xml.decode() if isinstance(xml, bytes) else xml
    params = {"signature": sha1_sorted(token, ts, nonce), "timestamp": ts, "nonce": nonce,
              "openid": "o-irrelevant"}
    if safe:
        encrypted = encrypt(text, key=key, appid=appid)
        params["encrypt_type"] = "aes"
        params["msg_signature"] = sha1_sorted(token, ts, nonce, encrypted)
        body = (f"<xml><ToUserName><![CDATA[gh_test]]></ToUserName>"
                f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>").encode()
    else:
        body = text.encode()
    return "/wechat/events?" + urlencode(params), raw_body if raw_body is not None else body


def push(client, xml: str, **kw: Any):
    url, body = signed_request(xml, **kw)
    return client.post(url, data=body, content_type="text/xml")
