"""Review 4: the one rule "exactly one of code and encrypt_code" (fields.OneCode), now inherited
by four schemas: odd values are a 4xx (never a 500), and the bounds did not get weaker."""

from __future__ import annotations

import pytest

from bff.edges.admin.schemas import CodeRefSchema, RedeemRequestSchema
from bff.edges.cards.schemas import RedeemSchema
from bff.edges.membership.schemas import ActivateRequestSchema
from tests.story import ADMIN, bearer

CARD = "pFS7Fjg8kV1IdDz01r4SQwMkuCKc"
ENC = "E3GL0wQ7nNyQxpJ4hwsqIxbd0BIk0UWTbE3z1R7A9f8="
ODD = [
    {"code": None}, {"encrypt_code": None}, {"code": None, "encrypt_code": ENC},
    {"code": "", "encrypt_code": ENC}, {"code": "1", "encrypt_code": ""}, {"code": ""},
    {"code": 1}, {"code": ["1"]}, {"code": {"a": 1}}, {"encrypt_code": ["x"]},
    {"code": " "}, {"code": "1", "encrypt_code": None}, {"code": False}, {"code": 0},
    {"code": "x" * 129}, {"encrypt_code": "A" * 513},
]


@pytest.mark.parametrize("given", ODD, ids=range(len(ODD)))
def test_odd_codes_are_4xx_everywhere(story, client, given):
    token = story.login(story.user())
    calls = [
        ("/v1/admin/codes/query", {"card_id": CARD, **given}, ADMIN),
        ("/v1/admin/codes/redeem", {"card_id": CARD, **given}, ADMIN),
        ("/v1/cards/codes/redeem", {"card_id": CARD, **given}, bearer(token)),
        ("/v1/membership/activate", {"card_id": CARD, "activate_ticket": "t", **given},
         bearer(token)),
    ]
    for path, body, headers in calls:
        res = client.post(path, json=body, headers=headers)
        assert 400 <= res.status_code < 500, (path, body, res.status_code, res.get_json())
        assert res.status_code not in (200, 201), (path, body)


def test_bounds_as_before():
    for schema, code_max, enc in ((CodeRefSchema, 128, 512), (RedeemRequestSchema, 128, 512),
                                  (RedeemSchema, 64, None), (ActivateRequestSchema, 64, None)):
        fields = schema().fields
        lengths = [v for v in fields["code"].validators if hasattr(v, "max")]
        assert lengths[0].max == code_max and lengths[0].min == 1, schema
        if enc:
            lengths = [v for v in fields["encrypt_code"].validators if hasattr(v, "max")]
            assert lengths[0].max == enc and lengths[0].min == 1
