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


def test_operator_operations_require_the_operator_scheme_and_document_401(spec):
    admin = [(m, p, op) for m, p, op in operations(spec) if p.startswith("/v1/admin/")]
    assert len(admin) >= 15
    for method, path, op in admin:
        assert op.get("security") == [{"adminAuth": []}], (method, path)
        assert "401" in op["responses"], (method, path)


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
