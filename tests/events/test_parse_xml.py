"""``parse_xml`` (expat directly, with defusedxml's guards) against the parse it replaced:
defusedxml's ElementTree with ``forbid_dtd``, ``forbid_entities`` and ``forbid_external``,
then the same reading of the root's children. The same fields or the same refusal (reason and
message) on hostile documents and on thousands of random ones built from XML's pieces."""

from __future__ import annotations

import random
from xml.etree.ElementTree import ParseError

import pytest
from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException

from bff.ground.wechat.push import MAX_FIELDS, MAX_VALUE_CHARS, PushRefused, parse_xml
from tests.events.test_push import LAUGHS, XXE


def reference(body: bytes) -> dict[str, str]:
    """The former ``bff.ground.wechat.push.parse_xml``, verbatim."""
    if not body or not body.strip():
        raise PushRefused("bad_xml", "the body is empty")
    try:
        root = SafeET.fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise PushRefused("bad_xml", "DTDs, entities and external references are not "
                                     "accepted") from None
    except (ParseError, ValueError, LookupError):
        raise PushRefused("bad_xml", "the body is not well-formed XML") from None
    if root.tag != "xml":
        raise PushRefused("bad_xml", "the document element must be <xml>")
    fields: dict[str, str] = {}
    for child in root:
        if len(fields) >= MAX_FIELDS:
            raise PushRefused("bad_xml", "too many elements")
        if not isinstance(child.tag, str) or len(child):
            continue
        fields[child.tag] = (child.text or "").strip()[:MAX_VALUE_CHARS]
    return fields


def outcome(parse, body: bytes):
    try:
        return ("fields", parse(body))
    except PushRefused as e:
        return ("refused", e.reason, str(e))


HOSTILE = [
    LAUGHS if isinstance(LAUGHS, bytes) else str(LAUGHS).encode(),
    XXE if isinstance(XXE, bytes) else str(XXE).encode(),
    b"", b"   \n", b"<xml>", b"<xml></xml>junk", b"<notxml><A>1</A></notxml>",
    b"<!DOCTYPE xml><xml><A>1</A></xml>",
    b'<!DOCTYPE xml SYSTEM "http://example.com/x.dtd"><xml/>',
    b"<xml><A>&amp;&lt;&#65;&#x42;</A><B>&undefined;</B></xml>",
    b"<xml><A>&#0;</A></xml>",
    b'<?xml version="1.0" encoding="utf-16"?><xml><A>1</A></xml>',
    b'<?xml version="1.0" encoding="no-such-codec"?><xml><A>1</A></xml>',
    b'<?xml version="1.0" encoding="iso-8859-1"?><xml><A>caf\xe9</A></xml>',
    b'<?xml version="1.0" encoding="shift_jis"?><xml><A>1</A></xml>',
    b"<xml><A>\xff\xfe</A></xml>",
    "<xml><A>é 中文</A></xml>".encode(),
    b"\xef\xbb\xbf<xml><A>bom</A></xml>",
    b'<n:xml xmlns:n="urn:x"><A>1</A></n:xml>',
    b'<xml xmlns:n="urn:x"><n:A>1</n:A><B xmlns="urn:y">2</B><n:A>3</n:A></xml>',
    b"<xml><A>x<!-- c -->y<?pi z?>z</A><!-- top --><?pi?></xml>",
    b"<xml><A><![CDATA[<b>&amp;</b>]]> tail </A><B>1<C/>2</B><D/></xml>",
    b"<xml>" + b"".join(b"<F%d>%d</F%d>" % (i, i, i) for i in range(MAX_FIELDS + 1)) + b"</xml>",
    b"<xml>" + b"<A>1</A>" * (MAX_FIELDS + 5) + b"</xml>",
    b"<xml>" + b"".join(b"<F%d>%d</F%d>" % (i, i, i) for i in range(MAX_FIELDS + 1)) + b"<x",
    b"<xml><A>" + b"y" * (MAX_VALUE_CHARS + 10) + b"</A></xml>",
    b"<xml a='1' a='2'><A/></xml>",
    b"<xml><A b='&x;'>1</A></xml>",
]


@pytest.mark.parametrize("body", HOSTILE)
def test_hostile_documents_get_the_same_answer(body):
    assert outcome(parse_xml, body) == outcome(reference, body)


PIECES = ["<xml>", "</xml>", "<A>", "</A>", "<B>", "</B>", "<C/>", "<A x='1'>", "text", " ",
          "\n", "<![CDATA[", "]]>", "<!-- c -->", "<?pi x?>", "&amp;", "&e;", "&#65;", "&#0;",
          "<!DOCTYPE xml>", "<!ENTITY e 'v'>", '<?xml version="1.0"?>', "<n:A xmlns:n='u'>",
          "</n:A>", "é", "<", ">", "&", "'", '"', "\x00", "<xml/>", "<Encrypt>", "</Encrypt>"]


def test_random_documents_get_the_same_answer():
    rng = random.Random(18)
    for _ in range(5000):
        parts = [rng.choice(PIECES) for _ in range(rng.randint(0, 14))]
        if rng.random() < 0.6:
            parts = ["<xml>", *parts, "</xml>"]
        body = "".join(parts).encode()
        assert outcome(parse_xml, body) == outcome(reference, body), body


CONTENT = ["text", " ", "\n", "<![CDATA[x<y]]>", "<!-- c -->", "<?pi x?>", "&amp;", "&#65;",
           "é", "<C/>", "<C>in</C>", "&e;", "<", "&", "<n:D xmlns:n='u'>d</n:D>"]
NAMES = ["A", "B", "Encrypt", "FromUserName", "n:A", "A1", "_x", "\u4e2d"]


def test_random_flat_documents_get_the_same_answer():
    """Documents shaped like a push (children of <xml> with mixed content) reach the fields."""
    rng = random.Random(19)
    filled = 0
    for _ in range(5000):
        children = []
        for _ in range(rng.randint(0, MAX_FIELDS + 2 if rng.random() < 0.1 else 8)):
            name = rng.choice(NAMES)
            ns = " xmlns:n='urn:n'" if name.startswith("n:") else ""
            inner = "".join(rng.choice(CONTENT) for _ in range(rng.randint(0, 4)))
            children.append(f"<{name}{ns}>{inner}</{name}>")
        body = ("<xml>" + "".join(children) + "</xml>").encode()
        expected = outcome(reference, body)
        assert outcome(parse_xml, body) == expected, body
        filled += expected[0] == "fields" and bool(expected[1])
    assert filled > 500  # many documents reach the fields, not only refusals
