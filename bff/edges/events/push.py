"""``/wechat/events``: the Official Account's server URL, where WeChat pushes card events.

GET is WeChat's URL check; its signed (timestamp, nonce) is used up as a push's is. POST carries
a push in plain mode (``signature``) or safe mode (``encrypt_type=aes``, ``msg_signature``, AES
body). ``BFF_PUSH_MODE`` says which are accepted: ``safe`` (the default with an EncodingAESKey)
refuses plain pushes, whose signature does not cover the body; in safe mode ``signature`` is
checked too when sent. A signed triple (timestamp, nonce, signature) is accepted once. Every
check is constant-time; the timestamp must be within ``BFF_PUSH_MAX_SKEW`` seconds of now; the
body is bounded by ``BFF_MAX_BODY_BYTES`` (413); XML is parsed without DTDs or entities (400).
The checks are ``bff.ground.wechat.push.verify_push``'s; this edge reads the request, keeps the
used (timestamp, nonce) pairs in Redis, records the event and answers. ``success`` is answered
only once the event is in the Redis stream; handling happens later (the worker).

An event's acknowledgement is one pipeline, shared with concurrent acknowledgements
(``bff.ground.store.coalesce``): one script marks the signed pair as used, checks the event's
dedup marker and appends it to the stream (``record_event``: one hash tag), and a safe-mode
``user_get_card``'s receipt merges the code's holding (one script on the holding, guarded by
its own marker of the pair in the holding's slot, so a replayed push rewrites no holding;
then the owner's index). A plain push's receipt waits for the recording to accept the pair
(a second round trip): its body is not signed, and a forged one could name another code.

A well-formed push is acknowledged as a direct route of the app (``acknowledge_directly``),
without Flask's request machinery; whatever it does not answer (a refusal, a replay, a user's
message, a failure of Redis) goes through the view, which answers as documented here.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from urllib.parse import parse_qsl

import redis
from flask import Flask, Response, request
from flask.views import MethodView
from flask_smorest import Blueprint
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.sansio.utils import get_content_length

from bff.domain.events.parse import CardEvent
from bff.domain.events.receipt import receipt_of, record_receipt
from bff.domain.events.stream import Recorded, record_event
from bff.edges.http.request_guard import MAX_QUERY_CHARS
from bff.edges.http.service_app import FOUND, DirectAnswer, DirectRoute, media_type
from bff.ground.errors import BadRequest, Forbidden
from bff.ground.metrics import EVENT_ACK_LATENCY, EVENTS, labelled
from bff.ground.services import Services, services
from bff.ground.store import STORE_ERRORS, keys, release_claim
from bff.ground.wechat.crypto import PushCrypto
from bff.ground.wechat.push import (
    BAD_XML,
    PRINTABLE_ASCII,
    QUERY_LIMITS,
    REPLAYED,
    UNSIGNED,
    PushMessage,
    PushRefused,
    replayed,
    verify_push,
)

log = logging.getLogger(__name__)

blp = Blueprint("wechat_push", __name__, url_prefix="/wechat",
                description="WeChat message push (the Official Account's server URL)")

# The pattern keeps the worst request line within gunicorn's limit (tests/test_spec.py);
# anything else is refused with 403 (bff.ground.wechat.push), as any wrong signature is.
_QUERY = [
    {"in": "query", "name": n, "required": req,
     "schema": {"type": "string", "maxLength": QUERY_LIMITS[n], "pattern": PRINTABLE_ASCII}}
    for n, req in (("signature", True), ("timestamp", True), ("nonce", True), ("openid", False))
]
_REFUSED = {"description": "Signature, timestamp or ciphertext refused (JSON error, no echo)"}


def _crypto(svc: Services) -> PushCrypto:
    crypto = svc.extras.get("push_crypto")
    if crypto is None:
        s = svc.settings
        crypto = PushCrypto(s.push_token, s.push_aes_key, s.appid,
                            previous_key=s.push_aes_key_previous or None)
        svc.extras["push_crypto"] = crypto
    return crypto


def _text(body: str) -> Response:
    return Response(body, status=200, mimetype="text/plain")


def _query(environ: dict) -> dict[str, str]:
    """The query as werkzeug's ``request.args.to_dict()`` reads it (the first value of a name
    wins), as a plain dict: werkzeug's MultiDict.get raises and catches a KeyError for every
    absent parameter (echostr, openid...), a fifth of the query check's cost. A query with
    raw bytes outside ASCII, which WeChat never sends, is refused as unsigned (werkzeug's
    strict decoding raised, a 500)."""
    raw = environ.get("QUERY_STRING", "")
    if not raw.isascii():  # raw bytes past a WSGI server (gunicorn refuses them itself)
        raise PushRefused(UNSIGNED, "the push is not signed")
    query: dict[str, str] = {}
    if "%" in raw or "+" in raw:
        pairs: Iterable[tuple[str, str]] = parse_qsl(raw, keep_blank_values=True,
                                                     errors="werkzeug.url_quote")
    else:  # nothing to decode (WeChat's queries): parse_qsl's split, without its unquoting
        pairs = (pair.partition("=")[::2] for pair in raw.split("&") if pair)
    for name, value in pairs:
        query.setdefault(name, value)
    return query


def _verify(svc: Services, environ: dict, body: Callable[[], bytes] | None) -> PushMessage:
    """The request, verified (``bff.ground.wechat.push``): a push, whose body ``body`` reads
    once the query holds, or the URL check (None). A URL check's signed pair is used up here;
    a push's by ``_record``, with what it records."""
    settings = svc.settings
    return verify_push(_query(environ), body, crypto=_crypto(svc),
                       mode=settings.effective_push_mode, max_skew=settings.push_max_skew,
                       now=time.time(), seen=None if body else partial(_seen, svc))


def _verified(body: Callable[[], bytes] | None) -> PushMessage:
    """``_verify`` of the request (or what the direct route found of it), a refusal answered
    (counted in ``_refused``), the store's failure there raised."""
    found = request.environ.pop(FOUND, None)
    if isinstance(found, PushMessage):
        return found
    if isinstance(found, PushRefused):
        raise _refused(found)
    if isinstance(found, Exception):
        raise found
    try:
        return _verify(services(), request.environ, body)
    except PushRefused as e:
        raise _refused(e) from None


def _refused(e: PushRefused) -> Exception:
    """The answer to a refused request; every refusal is counted here, and only here."""
    EVENTS.labels("unknown", "replayed" if e.reason == REPLAYED else "rejected").inc()
    return (BadRequest if e.reason == BAD_XML else Forbidden)(str(e))


def _body() -> bytes:
    limit = services().settings.max_body_bytes
    length = request.content_length
    if length is not None and length > limit:
        raise RequestEntityTooLarge()
    if length:
        # Within the bound: read it whole from the server's input, which stops at
        # Content-Length (PEP 3333), without werkzeug's stream wrappers. (0 is also what
        # werkzeug says of a terminated input without a length: read below.)
        return request.environ["wsgi.input"].read(length)
    # Without Content-Length (chunked), werkzeug's stream stops at MAX_CONTENT_LENGTH and raises
    # 413 on the next read; the explicit count keeps the bound whatever the server does.
    chunks, total = [], 0
    while chunk := request.stream.read(8192):
        total += len(chunk)
        if total > limit:
            raise RequestEntityTooLarge()
        chunks.append(chunk)
    return b"".join(chunks)


_XML_TYPES = ("", "text/xml", "application/xml")  # what WeChat sends (and no type at all)


def acknowledge_directly(svc: Services, environ: dict) -> bool:
    """A well-formed push's acknowledgement without Flask's request machinery (a direct route
    of ``bff.edges.http.service_app``): True once the event is recorded, the answer being
    ``success``. The same verification and recording as ``WeChatEvents.post``; False for
    anything else (a refusal, a user's message, a replay, a chunked, oversized or non-XML
    body, a failure of Redis), with nothing written and the body left to read again: the view
    then answers it, with the one error shape, the refusal's count and its logs, from what
    was found here (``FOUND``: nothing is verified or sent to Redis twice).

    Flask's request context, the hooks and the view's wrappers were a sixth of an
    acknowledgement's CPU (issue 18); what they do for a push is done here or is not needed: the
    request id is bound by the caller, the gate's checks (query length, body bound) are the
    conditions below, and the push takes no JSON and no authentication (CORS is not answered
    on WeChat's server URL: ``bff.edges.http.cors``)."""
    query = environ.get("QUERY_STRING", "")
    if len(query) > MAX_QUERY_CHARS:  # the gate's bound (a non-ASCII query: _query refuses)
        return False
    if media_type(environ) not in _XML_TYPES:
        return False
    # As werkzeug reads it: digits only, and none with Transfer-Encoding: chunked.
    length = get_content_length(environ.get("CONTENT_LENGTH"),
                                environ.get("HTTP_TRANSFER_ENCODING"))
    if not length or length > svc.settings.max_body_bytes:
        return False
    started = time.perf_counter()

    def body() -> bytes:
        data = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(data)  # the view reads it again if it answers
        return data

    try:
        message = _verify(svc, environ, body)
    except PushRefused as e:
        environ[FOUND] = e
        return False
    if not message.is_event:
        environ[FOUND] = message
        return False
    try:
        stored = _store(svc, message)
    except Exception as e:  # noqa: BLE001 - nothing is written: the view answers the failure
        environ[FOUND] = e
        return False
    if stored.recorded.replayed:
        environ[FOUND] = replayed()
        return False
    _recorded(svc, stored, started)
    return True


@blp.route("/events")
class WeChatEvents(MethodView):
    @blp.doc(
        summary="WeChat URL check",
        parameters=[*_QUERY, {"in": "query", "name": "echostr",
                              "schema": {"type": "string", "maxLength": QUERY_LIMITS["echostr"],
                                         "pattern": PRINTABLE_ASCII}, "required": True}],
        responses={"200": {"description": "echostr, verbatim (text/plain)",
                           "content": {"text/plain": {"schema": {"type": "string"}}}},
                   "403": {"description": "Signature or timestamp refused, or this signed "
                                          "(timestamp, nonce) was already used (JSON error, "
                                          "no echo)"}},
    )
    def get(self) -> Response:
        """WeChat URL check: echo ``echostr`` when the signature is right."""
        # Its (timestamp, nonce) is used up like a push's: its signature is a plain push's,
        # and would otherwise admit one forged plain push (compat or plain mode) within the skew.
        return _text(_verified(None).echostr)

    @blp.doc(
        summary="WeChat event push (plain or safe mode)",
        parameters=[*_QUERY,
                    {"in": "query", "name": "encrypt_type", "schema": {"type": "string",
                                                                       "enum": ["aes"]}},
                    {"in": "query", "name": "msg_signature",
                     "schema": {"type": "string", "maxLength": QUERY_LIMITS["msg_signature"],
                                "pattern": PRINTABLE_ASCII}}],
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
        message = _verified(_body)
        svc = services()
        if not message.is_event:
            if _seen(svc, message.timestamp, message.nonce):
                raise _refused(replayed())
            EVENTS.labels("message", "ignored").inc()  # user messages: not card events
            return _text("success")
        stored = _store(svc, message)
        if stored.recorded.replayed:
            raise _refused(replayed())
        _recorded(svc, stored, started)
        return _text("success")


_SUCCESS = DirectAnswer(b"success", "text/plain; charset=utf-8")


def direct_route(app: Flask) -> DirectRoute:
    """``POST /wechat/events`` as a direct route of ``app`` (``acknowledge_directly``)."""
    return lambda environ: _SUCCESS if acknowledge_directly(services(app), environ) else None


@dataclass(frozen=True)
class _Stored:
    message: PushMessage
    event: CardEvent
    recorded: Recorded
    receipt_sent: bool  # the receipt went out with the recording (a safe-mode push)


def _store(svc: Services, message: PushMessage) -> _Stored:
    """Use up a verified event push's signed (timestamp, nonce) and record its event in the
    stream, in one script. Unless the event is recorded, the pair is not used up: WeChat's
    retry of this very push must get through. A pair used before records nothing
    (``recorded.replayed``).

    A safe-mode ``user_get_card``'s receipt (the code's holding) goes out in the same pipeline,
    guarded by the pair's own marker in the holding's slot; a plain push's waits for the
    recording (``_recorded``): its body is not signed."""
    settings = svc.settings
    ev = CardEvent.parse(message.fields)
    digest = _pair_digest(message.timestamp, message.nonce)
    pair = (keys.push_seen(digest), os.urandom(8).hex())
    receipt = None
    if ev.event == "user_get_card" and message.mode == "safe":
        found, marker = receipt_of(ev), keys.receipt_seen(ev.code, digest)
        receipt = (found, marker) if found is not None and marker is not None else None
    try:
        recorded = record_event(svc.redis, message.fields, mode=message.mode,
                                dedup_ttl=settings.event_dedup_ttl,
                                retention_days=settings.event_retention_days,
                                pair=pair, pair_ttl=2 * settings.push_max_skew, receipt=receipt)
    except BaseException:
        _forget(svc, *pair)
        raise
    return _Stored(message, ev, recorded, receipt is not None)


def _recorded(svc: Services, stored: _Stored, started: float) -> None:
    """What follows a recorded (or duplicate) event: its count, its log line, a plain push's
    receipt, the acknowledgement's latency. It never fails the acknowledgement: the event is
    in the stream, and an answer other than ``success`` would make WeChat's retry a replay."""
    try:
        _bookkeeping(svc, stored, started)
    except Exception:  # noqa: BLE001 - logged; the worker records the receipt again anyway
        log.exception("after recording a pushed event")


def _bookkeeping(svc: Services, stored: _Stored, started: float) -> None:
    ev, recorded = stored.event, stored.recorded
    event = ev.event[:48] or "unknown"
    if recorded.duplicate:
        log.info("event %s is a duplicate: not recorded again", event)
    else:
        # DEBUG: the access log has the push request, the stream has the event; a line per
        # event at INFO was a tenth of an acknowledgement's cost at volume.
        log.debug("event %s recorded as stream entry %s", event, recorded.entry_id)
    labelled(EVENTS, event, "duplicate" if recorded.duplicate else "recorded").inc()
    if ev.event == "user_get_card" and not stored.receipt_sent:
        _record_receipt_now(svc, ev)
    labelled(EVENT_ACK_LATENCY, stored.message.mode).observe(time.perf_counter() - started)


def _pair_digest(timestamp: str, nonce: str) -> str:
    return hashlib.sha1(f"{timestamp}\n{nonce}".encode()).hexdigest()


def _seen_key(timestamp: str, nonce: str) -> str:
    return keys.push_seen(_pair_digest(timestamp, nonce))


def _seen(svc: Services, timestamp: str, nonce: str) -> bool:
    """Mark the signed (timestamp, nonce) pair as used; True if it already was.

    The timestamp check bounds a captured push URL to the skew window; this bounds it to one
    use within it (in plain mode the signature does not cover the body). Keyed on the pair
    alone (``signature`` is a function of it): a safe-mode URL replayed as a plain push, in
    compat mode, is the same pair."""
    skew = svc.settings.push_max_skew
    return not svc.redis.set(_seen_key(timestamp, nonce), "1", nx=True, ex=2 * skew)


def _forget(svc: Services, key: str, token: str) -> None:
    """Undo this request's mark of its signed pair, if the failed script set it (never an
    earlier push's mark: a replay whose script failed must not free the pair)."""
    try:
        release_claim(svc.redis, key, token)
    except redis.RedisError:
        pass  # it expires after 2 x skew; WeChat's retries come within that window anyway


def _record_receipt_now(svc: Services, ev: CardEvent) -> None:
    """The holding of a received card, at receipt: a decrypt that follows wx.addCard at once
    then finds WeChat's word on who received the code. The worker records it again (the
    same function, idempotent) and does the rest; a failure here loses nothing."""
    try:
        record_receipt(svc.redis, ev)
    except STORE_ERRORS:
        log.warning("could not record the receipt at push time; the worker will")
