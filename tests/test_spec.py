"""The spec documents every answer: rules that hold for every operation, present and future."""

from __future__ import annotations

import pytest

from tests.story import ADMIN, bearer

METHODS = ("get", "put", "post", "delete", "patch")


@pytest.fixture
def spec(client) -> dict:
    return client.get("/openapi.json").get_json()


def operations(spec: dict):
    for path, item in spec["paths"].items():
        for method in METHODS:
            if method in item:
                yield method.upper(), path, item[method]


def test_operator_operations_require_the_operator_schemes_and_document_401_and_403(spec):
    admin = [(m, p, op) for m, p, op in operations(spec)
             if p.startswith("/v1/admin/") and p != "/v1/admin/session"]
    assert len(admin) >= 15
    for method, path, op in admin:
        assert op.get("security") == [{"adminAuth": []}, {"consoleAuth": []}], (method, path)
        assert {"401", "403"} <= set(op["responses"]), (method, path)
        roles = op["x-bff-roles"]
        assert "admin" in roles and set(roles) <= {"staff", "marketing", "admin"}, (method, path)
        assert f"**Roles:** {', '.join(roles)}" in op["description"], (method, path)
    cookie = spec["components"]["securitySchemes"]["consoleAuth"]
    assert (cookie["type"], cookie["in"], cookie["name"]) == ("apiKey", "cookie", "bff_console")
    assert "X-CSRF-Token" in cookie["description"]


def test_every_secured_operation_documents_401_and_names_a_declared_scheme(spec):
    schemes = set(spec["components"]["securitySchemes"])
    for method, path, op in operations(spec):
        for requirement in op.get("security", []):
            assert set(requirement) <= schemes, (method, path)
            assert "401" in op["responses"], (method, path)


def test_every_error_answer_has_the_one_error_schema(spec):
    error = spec["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"code", "status", "message"}
    for method, path, op in operations(spec):
        for status, answer in op["responses"].items():
            if status == "default" or int(status) < 400 or "$ref" in answer:
                continue
            schema = answer["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/Error"}, (method, path, status)


def test_json_bodies_are_required_and_document_415_and_422(spec):
    for method, path, op in operations(spec):
        body = op.get("requestBody")
        if body and "application/json" in body["content"]:
            assert body["required"] is True, (method, path)
            assert {"415", "422"} <= set(op["responses"]), (method, path)


def test_every_operation_taking_an_idempotency_key_documents_its_reuse(spec):
    taking = [(m, p, op) for m, p, op in operations(spec)
              if any(q["in"] == "header" and q["name"] == "Idempotency-Key"
                     for q in op.get("parameters", []))]
    assert len(taking) >= 5  # redemptions (2), member changes, card creation, stock
    for method, path, op in taking:
        assert "Idempotency-Key" in op["responses"]["422"]["description"], (method, path)


def test_exactly_one_of_code_and_encrypt_code_is_in_the_schemas(spec):
    schemas = spec["components"]["schemas"]
    for name in ("Redeem", "CodeRef", "RedeemRequest"):
        assert schemas[name]["oneOf"] == [{"required": ["code"]},
                                          {"required": ["encrypt_code"]}], name


def test_card_id_in_paths_is_a_pattern(story, spec, client):
    # /v1/membership/cards/<card_id> moves to <card_id:card_id> with the membership rewrite
    params = [p for _, path, op in operations(spec)
              if "{card_id}" in path and not path.startswith("/v1/membership/")
              for p in spec["paths"][path].get("parameters", []) + op.get("parameters", [])
              if p["name"] == "card_id"]
    assert params and all(p["schema"]["pattern"] for p in params)
    res = client.get("/v1/admin/cards/not%20a%20card/profile", headers=ADMIN)
    story.assert_error(res, 404)


@pytest.mark.parametrize("raw", [None, b"", b"{}"])
def test_a_json_body_is_required_where_one_is_declared(story, client, raw):
    res = client.put("/v1/admin/test-whitelist", data=raw, headers=ADMIN,
                     content_type="text/plain" if raw == b"{}" else None)
    story.assert_error(res, 415)


def test_no_credentials_is_a_401_before_the_missing_body(story, client):
    story.assert_error(client.put("/v1/admin/test-whitelist"), 401)
    story.assert_error(client.post("/v1/cards/choose-card"), 401)
    story.assert_error(client.post("/v1/cards/choose-card", headers=bearer("nope")), 401)


def test_the_add_card_summary_states_the_batch_limit(spec):
    from bff.cards.schemas import MAX_ADD_CARDS

    summary = spec["paths"]["/v1/cards/add-card"]["post"]["summary"]
    assert f"(1..{MAX_ADD_CARDS} cards)" in summary


# -- the longest request the spec allows fits the limits in front of the views -----------------

def _pattern_width(pattern: str) -> tuple[int, bool]:
    """(the most characters ``pattern`` matches, whether they are all ASCII)."""
    import re._constants as c
    import re._parser as parser

    def ascii_only(items) -> bool:
        for op, value in items:
            if op in (c.ANY, c.NOT_LITERAL, c.CATEGORY) or (op == c.LITERAL and value > 0x7F):
                return False
            if op == c.IN and any(o in (c.NEGATE, c.CATEGORY) or (o == c.LITERAL and a > 0x7F)
                                  or (o == c.RANGE and a[1] > 0x7F) for o, a in value):
                return False
            if op in (c.MAX_REPEAT, c.MIN_REPEAT) and not ascii_only(value[2]):
                return False
            if op == c.SUBPATTERN and not ascii_only(value[-1]):
                return False
            if op == c.BRANCH and not all(ascii_only(b) for b in value[1]):
                return False
            if op == c.ASSERT and not ascii_only(value[1]):
                return False
        return True

    parsed = parser.parse(pattern)
    return parsed.getwidth()[1], ascii_only(parsed)


def _worst_value(name: str, schema: dict) -> tuple[int, int]:
    """(decoded characters, bytes once percent-encoded) of the longest value ``schema`` allows:
    a character UTF-8 takes 4 bytes for is 12 when percent-encoded, an ASCII one at most 3."""
    if "enum" in schema:
        longest = max(len(str(v)) for v in schema["enum"])
        return longest, 3 * longest
    kind = schema.get("type")
    if kind == "integer":
        assert "minimum" in schema and "maximum" in schema, f"{name}: an unbounded integer"
        longest = max(len(str(schema["minimum"])), len(str(schema["maximum"])))
        return longest, longest
    if kind == "boolean":
        return 5, 5
    assert kind == "string", f"{name}: {schema}"
    if schema.get("format") == "date":
        return 10, 10
    bounds = [schema["maxLength"]] if "maxLength" in schema else []
    ascii_ = False
    if "pattern" in schema:
        width, ascii_ = _pattern_width(schema["pattern"])
        bounds.append(width)
    longest = min(bounds, default=None)
    assert longest is not None and longest < 65536, f"{name}: an unbounded string"
    return longest, longest * (3 if ascii_ else 12)


def _procfile_line_limit() -> int:
    import re
    from pathlib import Path

    procfile = (Path(__file__).resolve().parent.parent / "Procfile").read_text()
    return int(re.search(r"--limit-request-line (\d+)", procfile).group(1))


def test_the_longest_query_the_spec_allows_fits_the_app_and_gunicorn(spec):
    """Each parameter at its longest (4-byte characters where the spec allows them): the
    decoded query stays within the app's own 414 bound, and the request line within
    gunicorn's (Procfile), which would answer a longer one with an HTML 414 of its own."""
    from bff.request_guard import MAX_QUERY_CHARS

    line_limit = _procfile_line_limit()
    for method, path, op in operations(spec):
        params = [*spec["paths"][path].get("parameters", []), *op.get("parameters", [])]
        chars = sent = 0
        line_path = path
        for param in params:
            schema = param["schema"]
            if param["in"] == "path":
                _, encoded = _worst_value(param["name"], schema)
                line_path = line_path.replace(f"{{{param['name']}}}", "x" * encoded)
            if param["in"] != "query":
                continue
            items = schema.get("maxItems", 1) if schema.get("type") == "array" else 1
            assert schema.get("type") != "array" or "maxItems" in schema, (path, param["name"])
            value_chars, value_sent = _worst_value(
                param["name"], schema["items"] if schema.get("type") == "array" else schema)
            name = len(param["name"])
            chars += items * (name + value_chars + 2)  # as request_guard counts: k=v&
            sent += items * (name + value_sent + 2)
        line = len(method) + 1 + len(line_path) + 1 + sent + len(" HTTP/1.1")
        assert chars <= MAX_QUERY_CHARS, (method, path, chars)
        assert line <= line_limit, (method, path, line)
