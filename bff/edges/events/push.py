"""``/wechat/events``: the Official Account's server URL, where WeChat pushes card events.

GET is WeChat's URL check; its signed (timestamp, nonce) is used up as a push's is. POST carries
a push in plain mode (``signature``) or safe mode (``encrypt_type=aes``, ``msg_signature``, AES
body). ``BFF_PUSH_MODE`` says which are accepted: ``safe`` (the default with an EncodingAESKey)
refuses plain pushes, whose signature does not cover the body; in safe mode ``signature`` is
checked too when sent. A signed triple (timestamp, nonce, signature) is accepted once. Every
check is constant-time; the timestamp must be within ``BFF_PUSH_MAX_SKEW`` seconds of now; the
body is bounded by ``BFF_MAX_BODY_BYTES`` (413); XML is parsed without DTDs or entities (400).
``success`` is answered only once the event is in the Redis stream; handling happens later (the
worker).
"""

from __future__ import annotations

import hashlib
import logging
import re
import time

import redis
from flask import Response, request
from flask.views import MethodView
from flask_smorest import Blueprint
from werkzeug.exceptions import RequestEntityTooLarge

from bff.domain.events.handlers import record_receipt
from bff.domain.events.parse import BadXml, parse_xml
from bff.domain.events.stream import record_event
from bff.ground.errors import BadRequest, Forbidden
from bff.ground.metrics import EVENT_ACK_LATENCY, EVENTS
from bff.ground.services import services
from bff.ground.store import keys
from bff.ground.wechat.crypto import PushCrypto, PushCryptoError

log = logging.getLogger(__name__)

blp = Blueprint("wechat_push", __name__, url_prefix="/wechat",
                description="WeChat message push (the Official Account's server URL)")

# WeChat's query parameters are printable ASCII (hex digests, digits, openids): the pattern
# keeps the worst request line within gunicorn's limit (tests/test_spec.py); anything else
# is refused with 403, as any wrong signature is.
_ASCII = r"^[\x20-\x7e]*$"
_PRINTABLE_ASCII = re.compile(_ASCII)
_LIMITS = {"signature": 128, "timestamp": 128, "nonce": 128, "openid": 128, "echostr": 512,
           "msg_signature": 128}
_QUERY = [
    {"in": "query", "name": n, "required": req,
     "schema": {"type": "string", "maxLength": _LIMITS[n], "pattern": _ASCII}}
    for n, req in (("signature", True), ("timestamp", True), ("nonce", True), ("openid", False))
]
_REFUSED = {"description": "Signature, timestamp or ciphertext refused (JSON error, no echo)"}


def _crypto() -> PushCrypto:
    svc = services()
    crypto = svc.extras.get("push_crypto")
    if crypto is None:
        s = svc.settings
        crypto = PushCrypto(s.push_token, s.push_aes_key, s.appid,
                            previous_key=s.push_aes_key_previous or None)
        svc.extras["push_crypto"] = crypto
    return crypto


def _text(body: str) -> Response:
    return Response(body, status=200, mimetype="text/plain")


def _fresh_timestamp() -> tuple[str, str]:
    if any(len(request.args.get(name, "")) > limit
           or not _PRINTABLE_ASCII.fullmatch(request.args.get(name, ""))
           for name, limit in _LIMITS.items()):
        raise Forbidden("the push is not signed")
    timestamp = request.args.get("timestamp", "")
    nonce = request.args.get("nonce", "")
    # ASCII digits only: str.isdigit() also accepts "²" or Arabic-Indic digits, and int("²")
    # raises (a 500 for anyone who can send a query string).
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
        raise Forbidden("the push is not signed")
    if abs(time.time() - int(timestamp)) > services().settings.push_max_skew:
        raise Forbidden("the push timestamp is too far from now")
    return timestamp, nonce


def _body() -> bytes:
    limit = services().settings.max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        raise RequestEntityTooLarge()
    # Without Content-Length (chunked), werkzeug's stream stops at MAX_CONTENT_LENGTH and raises
    # 413 on the next read; the explicit count keeps the bound whatever the server does.
    chunks, total = [], 0
    while chunk := request.stream.read(8192):
        total += len(chunk)
        if total > limit:
            raise RequestEntityTooLarge()
        chunks.append(chunk)
    return b"".join(chunks)


def _parse(body: bytes) -> dict[str, str]:
    try:
        return parse_xml(body)
    except BadXml as e:
        EVENTS.labels("unknown", "rejected").inc()
        raise BadRequest(str(e)) from None


@blp.route("/events")
class WeChatEvents(MethodView):
    @blp.doc(
        summary="WeChat URL check",
        parameters=[*_QUERY, {"in": "query", "name": "echostr",
                              "schema": {"type": "string", "maxLength": _LIMITS["echostr"],
                                         "pattern": _ASCII}, "required": True}],
        responses={"200": {"description": "echostr, verbatim (text/plain)",
                           "content": {"text/plain": {"schema": {"type": "string"}}}},
                   "403": {"description": "Signature or timestamp refused, or this signed "
                                          "(timestamp, nonce) was already used (JSON error, "
                                          "no echo)"}},
    )
    def get(self) -> Response:
        """WeChat URL check: echo ``echostr`` when the signature is right."""
        timestamp, nonce = _fresh_timestamp()
        if not _crypto().check_signature(request.args.get("signature", ""), timestamp, nonce):
            raise Forbidden("bad signature")
        # Used up like a push's: its signature is a plain push's, and would otherwise admit
        # one forged plain push (compat or plain mode) within the skew.
        _first_sight(timestamp, nonce, services().settings.push_max_skew)
        return _text(request.args.get("echostr", ""))

    @blp.doc(
        summary="WeChat event push (plain or safe mode)",
        parameters=[*_QUERY,
                    {"in": "query", "name": "encrypt_type", "schema": {"type": "string",
                                                                       "enum": ["aes"]}},
                    {"in": "query", "name": "msg_signature",
                     "schema": {"type": "string", "maxLength": _LIMITS["msg_signature"],
                                "pattern": _ASCII}}],
        requestBody={"content": {"text/xml": {"schema": {"type": "string"}}}},
        responses={"200": {"description": "``success`` once the event is durably recorded",
                           "content": {"text/plain": {"schema": {"type": "string"}}}},
                   "400": {"description": "Malformed or hostile XML"},
                   "403": _REFUSED, "413": {"description": "Body too large"},
                   "503": {"description": "Storage unavailable; WeChat retries"}},
    )
    def post(self) -> Response:
        """Receive a pushed event; reply ``success`` once it is recorded."""
        started = time.perf_counter()
        timestamp, nonce = _fresh_timestamp()
        crypto = _crypto()
        settings = services().settings
        mode = settings.effective_push_mode
        safe = request.args.get("encrypt_type", "raw").lower() == "aes"
        if mode == "safe" and not safe:
            EVENTS.labels("unknown", "rejected").inc()
            raise Forbidden("this endpoint accepts safe-mode (encrypted) pushes only")
        if mode == "plain" and safe:
            EVENTS.labels("unknown", "rejected").inc()
            raise Forbidden("this endpoint accepts plain-mode pushes only")
        signature = request.args.get("signature")
        body = _body()
        if safe:
            outer = _parse(body)
            encrypt = outer.get("Encrypt", "")
            msg_signature = request.args.get("msg_signature", "")
            if not encrypt or not crypto.check_msg_signature(msg_signature, timestamp, nonce,
                                                             encrypt):
                EVENTS.labels("unknown", "rejected").inc()
                raise Forbidden("bad msg_signature")
            # WeChat sends both in safe mode; when ``signature`` is there it must hold too.
            if signature is not None and not crypto.check_signature(signature, timestamp, nonce):
                EVENTS.labels("unknown", "rejected").inc()
                raise Forbidden("bad signature")
            try:
                inner = crypto.decrypt(encrypt)
            except PushCryptoError:
                EVENTS.labels("unknown", "rejected").inc()
                raise Forbidden("the message could not be decrypted for this account") from None
            fields = _parse(inner.encode("utf-8"))
        else:
            if not crypto.check_signature(signature or "", timestamp, nonce):
                EVENTS.labels("unknown", "rejected").inc()
                raise Forbidden("bad signature")
            fields = _parse(body)
        seen = _first_sight(timestamp, nonce, settings.push_max_skew)
        try:
            if fields.get("MsgType", "event") != "event":
                EVENTS.labels("message", "ignored").inc()  # user messages: not card events
                return _text("success")
            recorded = record_event(services().redis, fields, mode="safe" if safe else "plain",
                                    dedup_ttl=settings.event_dedup_ttl,
                                    retention_days=settings.event_retention_days)
        except BaseException:
            _forget(seen)  # not recorded: WeChat's retry of this very push must get through
            raise
        event = fields.get("Event", "") or "unknown"
        if recorded.duplicate:
            log.info("event %s is a duplicate: not recorded again", event[:48])
        else:
            log.info("event %s recorded as stream entry %s", event[:48], recorded.entry_id)
        EVENTS.labels(event[:48], "duplicate" if recorded.duplicate else "recorded").inc()
        if event == "user_get_card":
            _record_receipt_now(fields)
        EVENT_ACK_LATENCY.labels("safe" if safe else "plain").observe(
            time.perf_counter() - started)
        return _text("success")


def _first_sight(timestamp: str, nonce: str, skew: int) -> str:
    """Mark the signed (timestamp, nonce) pair as used; 403 if it already was.

    The timestamp check bounds a captured push URL to the skew window; this bounds it to one
    use within it (in plain mode the signature does not cover the body). Keyed on the pair
    alone (``signature`` is a function of it): a safe-mode URL replayed as a plain push, in
    compat mode, is the same pair."""
    digest = hashlib.sha1(f"{timestamp}\n{nonce}".encode()).hexdigest()
    key = keys.push_seen(digest)
    if not services().redis.set(key, "1", nx=True, ex=2 * skew):
        EVENTS.labels("unknown", "replayed").inc()
        raise Forbidden("this signed push was already received (replay)")
    return key


def _forget(key: str) -> None:
    try:
        services().redis.delete(key)
    except redis.RedisError:
        pass  # it expires after 2 x skew; WeChat's retries come within that window anyway


def _record_receipt_now(fields: dict[str, str]) -> None:
    """The holding of a received card, at receipt: a decrypt that follows wx.addCard at once
    then finds WeChat's word on who received the code. The worker records it again (the
    same function, idempotent) and does the rest; a failure here loses nothing."""
    try:
        record_receipt(services().redis, fields)
    except redis.RedisError:
        log.warning("could not record the receipt at push time; the worker will")
