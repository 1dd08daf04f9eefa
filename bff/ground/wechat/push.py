"""WeChat's message push, verified: the query, the signatures, the timestamp, the mode, the XML,
the AES envelope and its appid, and one use of each signed (timestamp, nonce).

No Flask and no Redis: ``verify_push`` takes the query, the body and the settings, asks the
caller's ``seen`` whether the signed pair was used before (or leaves that to the caller, who
marks it with what it records), and returns the verified message or raises ``PushRefused`` (one
type; its ``reason`` names the check that failed).

Modes (``BFF_PUSH_MODE``): ``safe`` accepts encrypted pushes only (``encrypt_type=aes``,
``msg_signature`` over the Encrypt value; ``signature`` is checked too when sent): a plain
push's signature does not cover its body. ``plain`` accepts plain pushes only (``signature``),
``compat`` both. WeChat's URL check (``body=None``) is signed like a plain push in every mode.

XML is parsed by libxml2 (lxml) with entity expansion, DTD loading and network access off, and a
document with a DOCTYPE (hence any entity, billion laughs or external reference) is refused:
nothing is expanded, fetched or opened (every URL resolves to nothing). It is a quarter of the
cost of defusedxml's pure-Python ElementTree, which the tests keep as the reference
(tests/events/test_parse_xml.py). A document of the flat shape WeChat writes is read by two
patterns instead (``parse_xml``), with what the parse would read; a safe push has two.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from lxml import etree

from bff.ground.wechat.crypto import PushCrypto, PushCryptoError

MODES = ("safe", "compat", "plain")
# WeChat's query parameters are printable ASCII (hex digests, digits, openids), each bounded;
# anything else is refused as unsigned (the edge's spec states the same pattern and limits).
PRINTABLE_ASCII = r"^[\x20-\x7e]*$"
QUERY_LIMITS = {"signature": 128, "timestamp": 128, "nonce": 128, "openid": 128, "echostr": 512,
                "msg_signature": 128}
MAX_FIELDS = 64
MAX_VALUE_CHARS = 4096

# PushRefused.reason: which check refused the request.
UNSIGNED = "unsigned"            # query parameters missing, over-long, non-ASCII, odd timestamp
STALE = "stale"                  # the timestamp is more than max_skew from now
WRONG_MODE = "wrong_mode"        # encrypted where plain only is accepted, or the reverse
BAD_SIGNATURE = "bad_signature"  # signature or msg_signature (or no Encrypt to sign)
BAD_XML = "bad_xml"              # empty, malformed or hostile XML (outer or decrypted)
UNDECRYPTABLE = "undecryptable"  # not base64, bad padding or length, another appid or key
REPLAYED = "replayed"            # this signed (timestamp, nonce) was used before


class PushRefused(Exception):
    """A push or URL check refused; ``str()`` is safe to answer with, ``reason`` is one of the
    constants above."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class PushMessage:
    """A verified push: its XML fields (decrypted in safe mode; none for a URL check), how it
    came (``safe`` or ``plain``) and its signed (timestamp, nonce)."""

    fields: dict[str, str] = field(repr=False)
    mode: str
    timestamp: str
    nonce: str
    echostr: str = ""  # a URL check's, to answer verbatim

    @property
    def is_event(self) -> bool:
        """A card (or other) event, not a user's message to the Official Account."""
        return self.fields.get("MsgType", "event") == "event"


Body = bytes | Callable[[], bytes]


def verify_push(
    query: Mapping[str, str], body: Body | None, *, crypto: PushCrypto, mode: str,
    max_skew: int, now: float, seen: Callable[[str, str], bool] | None,
) -> PushMessage:
    """The verified push, or ``PushRefused``.

    ``body`` is the request body, or a callable that reads it (called only once the query has
    passed, so an unsigned request costs no body read); ``None`` for WeChat's URL check (GET).
    ``crypto`` holds the token, the EncodingAESKey(s) and the appid. ``seen(timestamp, nonce)``
    marks the signed pair as used and says whether it already was; it is asked last, once
    everything else holds. ``seen=None``: the caller marks the pair itself once this returns,
    in the same step as what it records (the event edge: one Redis script), and refuses a pair
    used before with ``replayed()``."""
    timestamp, nonce = _signed_query(query, max_skew, now)
    if body is None:
        _check_signature(crypto, query.get("signature", ""), timestamp, nonce)
        message = PushMessage({}, "plain", timestamp, nonce, echostr=query.get("echostr", ""))
    else:
        safe = query.get("encrypt_type", "raw").lower() == "aes"
        _check_mode(mode, safe)
        data = body() if callable(body) else body
        fields = (_decrypted(query, data, crypto, timestamp, nonce) if safe
                  else _plain(query, data, crypto, timestamp, nonce))
        message = PushMessage(fields, "safe" if safe else "plain", timestamp, nonce)
    if seen is not None and seen(timestamp, nonce):
        raise replayed()
    return message


def replayed() -> PushRefused:
    """The refusal of a signed (timestamp, nonce) used before."""
    return PushRefused(REPLAYED, "this signed push was already received (replay)")


def _signed_query(query: Mapping[str, str], max_skew: int, now: float) -> tuple[str, str]:
    for name, limit in QUERY_LIMITS.items():
        value = query.get(name)
        if value is not None and (len(value) > limit or not printable_ascii(value)):
            raise PushRefused(UNSIGNED, "the push is not signed")
    timestamp = query.get("timestamp", "")
    # ASCII digits only: str.isdigit() also accepts "²" or Arabic-Indic digits, and int("²")
    # raises.
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
        raise PushRefused(UNSIGNED, "the push is not signed")
    if abs(now - int(timestamp)) > max_skew:
        raise PushRefused(STALE, "the push timestamp is too far from now")
    return timestamp, query.get("nonce", "")


def printable_ascii(value: str) -> bool:
    """Whether ``value`` matches ``PRINTABLE_ASCII`` (the spec's pattern), without the regex:
    a call per query value of every push (tests/events/test_verify_push.py holds the two
    equal)."""
    return value.isascii() and value.isprintable()


def _check_mode(mode: str, safe: bool) -> None:
    if mode == "safe" and not safe:
        raise PushRefused(WRONG_MODE, "this endpoint accepts safe-mode (encrypted) pushes only")
    if mode == "plain" and safe:
        raise PushRefused(WRONG_MODE, "this endpoint accepts plain-mode pushes only")


def _check_signature(crypto: PushCrypto, signature: str, timestamp: str, nonce: str) -> None:
    if not crypto.check_signature(signature, timestamp, nonce):
        raise PushRefused(BAD_SIGNATURE, "bad signature")


def _plain(query: Mapping[str, str], body: bytes, crypto: PushCrypto, timestamp: str,
           nonce: str) -> dict[str, str]:
    _check_signature(crypto, query.get("signature", ""), timestamp, nonce)
    return parse_xml(body)


def _decrypted(query: Mapping[str, str], body: bytes, crypto: PushCrypto, timestamp: str,
               nonce: str) -> dict[str, str]:
    encrypt = envelope_encrypt(body)
    if not encrypt or not crypto.check_msg_signature(query.get("msg_signature", ""), timestamp,
                                                     nonce, encrypt):
        raise PushRefused(BAD_SIGNATURE, "bad msg_signature")
    # WeChat sends both in safe mode; when ``signature`` is there it must hold too.
    if "signature" in query:
        _check_signature(crypto, query["signature"], timestamp, nonce)
    try:
        inner = crypto.decrypt(encrypt)
    except PushCryptoError:
        raise PushRefused(UNDECRYPTABLE,
                          "the message could not be decrypted for this account") from None
    return parse_xml(inner.encode("utf-8"))


class _NothingResolved(etree.Resolver):
    """Every URL a document names (a DOCTYPE's SYSTEM id, an external parameter entity)
    resolves to nothing: libxml2 opens local files for them even with DTD loading and entity
    expansion off, and a pipe or a FIFO named so would block the worker in C (an attacker's
    review found /proc/self/fd/<gunicorn's pipe>). The DOCTYPE is then refused."""

    def resolve(self, system_url: str, public_id: str, context: object) -> object:
        return self.resolve_string("", context)


def _parser() -> etree.XMLParser:
    parser = etree.XMLParser(resolve_entities=False, load_dtd=False, no_network=True,
                             huge_tree=False, remove_comments=True, remove_pis=True,
                             collect_ids=False)
    parser.resolvers.add(_NothingResolved())
    return parser


# Shared: lxml serializes the use of one parser across threads with a lock of its own, and a
# parse never yields to another greenlet.
_PARSER = _parser()


# A document of the shape WeChat writes (an <xml> element of flat fields, each plain text or
# one CDATA section, XML whitespace between them, no declaration, ASCII only) is read with two
# patterns instead of a parse; what they read is what the parse below reads of it
# (tests/events/test_parse_xml.py holds the two to it, on chosen and on generated documents),
# and any other document is parsed. A value holds only printable ASCII, which XML takes as it
# is: no control character, no CR (a parser turns CRLF into LF), no "]" (so no "]]>"), and no
# "<" or "&" outside CDATA. In place, with its caches cold, libxml2's parse of a decrypted event
# cost an acknowledgement about 28 us (issue 18); the patterns, about half.
_CHAR = rb"[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\xff\r\]"  # a class left open: each use closes it
_FIELD = (rb"<(?P<name>[A-Za-z_][A-Za-z0-9_]{0,63})>"
          rb"(?:<!\[CDATA\[(" + _CHAR + rb"]*)\]\]>|(" + _CHAR + rb"<&]*))</(?P=name)>")
_SPACE = rb"[ \t\r\n]*"  # XML's whitespace (\s would take \f and \v, which XML refuses)
_FLAT = re.compile(_SPACE + rb"<xml>((?:" + _SPACE + _FIELD + rb")*)" + _SPACE + rb"</xml>"
                   + _SPACE)
_FLAT_FIELD = re.compile(_FIELD)


# A safe-mode envelope as WeChat writes it: <xml>, an optional ToUserName, then Encrypt, each one
# CDATA section; Encrypt's text is base64 (what parse_xml reads of it, in one pass instead of two
# over its 600-odd characters: tests/events/test_parse_xml.py holds the two to it).
_ENVELOPE = re.compile(_SPACE + rb"<xml>" + _SPACE
                       + rb"(?:<ToUserName><!\[CDATA\[" + _CHAR + rb"]*\]\]></ToUserName>"
                       + _SPACE + rb")?<Encrypt><!\[CDATA\[[ \t\r\n]*([A-Za-z0-9+/=]{1,4096})"
                       + rb"[ \t\r\n]*\]\]></Encrypt>" + _SPACE + rb"</xml>" + _SPACE)


def envelope_encrypt(body: bytes) -> str:
    """A safe-mode push's ``Encrypt`` text: ``parse_xml(body).get("Encrypt", "")``, read by one
    pattern when the envelope has WeChat's shape."""
    envelope = _ENVELOPE.fullmatch(body)
    if envelope is not None:
        return envelope.group(1).decode("ascii")
    return parse_xml(body).get("Encrypt", "")


def parse_xml(body: bytes) -> dict[str, str]:
    """The ``<xml>`` document's child elements as ``{name: text}``; nested elements are
    dropped. ``PushRefused(BAD_XML)`` for anything else, with a message safe to return."""
    flat = _FLAT.fullmatch(body)
    if flat is None:
        return _parsed(body)
    found = _FLAT_FIELD.findall(flat.group(1))
    if len(found) < MAX_FIELDS:  # no cut needed on the count; values are cut below if long
        fields = {name.decode(): (cdata or plain).decode().strip()
                  for name, cdata, plain in found}
        if fields and max(map(len, fields.values())) > MAX_VALUE_CHARS:
            fields = {name: value[:MAX_VALUE_CHARS] for name, value in fields.items()}
        return fields
    return _fields((name.decode(), (cdata or plain).decode()) for name, cdata, plain in found)


def _fields(children: Iterable[tuple[str | None, str]]) -> dict[str, str]:
    """The fields of the document's child elements (name, text), in order: the last of a name
    wins, text stripped and cut, a child named None (nested, or not an element) skipped; a
    child met with ``MAX_FIELDS`` names read already is refused."""
    fields: dict[str, str] = {}
    for name, text in children:
        if len(fields) >= MAX_FIELDS:
            raise PushRefused(BAD_XML, "too many elements")
        if name is not None:
            fields[name] = text.strip()[:MAX_VALUE_CHARS]
    return fields


def _parsed(body: bytes) -> dict[str, str]:
    if not body or not body.strip():
        raise PushRefused(BAD_XML, "the body is empty")
    try:
        root = etree.fromstring(body, _PARSER)
    except (etree.LxmlError, ValueError, LookupError):
        raise PushRefused(BAD_XML, "the body is not well-formed XML") from None
    info = root.getroottree().docinfo
    if info.doctype or info.internalDTD is not None:
        raise PushRefused(BAD_XML, "DTDs, entities and external references are not "
                                   "accepted")
    if info.encoding.upper() != "UTF-8":  # what WeChat sends
        raise PushRefused(BAD_XML, "the body is not UTF-8 XML")
    if root.tag != "xml":
        raise PushRefused(BAD_XML, "the document element must be <xml>")
    return _fields((child.tag if isinstance(child.tag, str) and not len(child) else None,
                    child.text or "") for child in root)
