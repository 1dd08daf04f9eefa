"""Every request that takes a code as itself or as an encrypt_code holds the one rule
(``bff.edges.http.fields.OneCode``): exactly one of the two, with one message and one spec."""

from __future__ import annotations

import pytest
from marshmallow import ValidationError

from bff.edges.admin.schemas import CodeRefSchema, RedeemRequestSchema
from bff.edges.cards.schemas import RedeemSchema
from bff.edges.http.fields import OneCode
from bff.edges.membership.schemas import ActivateRequestSchema

CARD = "pFS7Fjg8kV1IdDz01r4SQwMkuCKc"
ENCRYPTED = "E3GL0wQ7nNyQxpJ4hwsqIxbd0BIk0UWTbE3z1R7A9f8="
SCHEMAS = [CodeRefSchema, RedeemRequestSchema, RedeemSchema, ActivateRequestSchema]
BASE = {"card_id": CARD, "activate_ticket": "t"}


@pytest.mark.parametrize("schema", SCHEMAS)
@pytest.mark.parametrize("given", [{}, {"code": "123456789012", "encrypt_code": ENCRYPTED}])
def test_neither_or_both_is_refused_alike(schema, given):
    body = {k: v for k, v in BASE.items() if k in schema().fields} | given
    with pytest.raises(ValidationError) as refused:
        schema().load(body)
    assert refused.value.messages == {"code": ["give exactly one of code and encrypt_code"]}


@pytest.mark.parametrize("schema", SCHEMAS)
@pytest.mark.parametrize("given", [{"code": "123456789012"}, {"encrypt_code": ENCRYPTED}])
def test_either_one_is_taken(schema, given):
    body = {k: v for k, v in BASE.items() if k in schema().fields} | given
    assert schema().load(body)


@pytest.mark.parametrize("schema", SCHEMAS)
def test_the_rule_is_inherited_not_copied(schema):
    assert issubclass(schema, OneCode)
    assert schema.Meta.openapi == {"oneOf": [{"required": ["code"]},
                                             {"required": ["encrypt_code"]}]}
