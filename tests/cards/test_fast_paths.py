"""add-card's fast load/dump paths give exactly what the marshmallow schemas give."""

from __future__ import annotations

import pytest
from marshmallow import Schema, ValidationError

from bff.edges.cards.schemas import AddCardSchema, CardListSchema, _fast_add_card

P1, P2 = "p" + "1" * 27, "p" + "2" * 27  # card_ids as WeChat hands them out: 28 characters
GOOD = [
    {"cards": [{"card_id": "pABC_def-1" + "x" * 18}]},
    {"cards": [{"card_id": P1, "outer_str": ""}, {"card_id": P2, "outer_str": "x" * 100}]},
    {"cards": [{"card_id": P1, "fixed_begintimestamp": 0}] * 10},
    {"cards": [{"card_id": P1, "fixed_begintimestamp": 2**32 - 1, "outer_str": "渠道"}]},
]
BAD = [
    {}, {"cards": []}, {"cards": [{"card_id": "p"}] * 11}, {"cards": "p1"},
    {"cards": [{"card_id": "p 1"}]}, {"cards": [{"card_id": ""}]}, {"cards": [{}]},
    {"cards": [{"card_id": "pABC_def-1"}]}, {"cards": [{"card_id": P1 + "1"}]},
    {"cards": [{"card_id": 1}]}, {"cards": [{"card_id": "p", "outer_str": "x" * 101}]},
    {"cards": [{"card_id": "p", "outer_str": "a~b"}]},
    {"cards": [{"card_id": "p", "fixed_begintimestamp": True}]},
    {"cards": [{"card_id": "p", "fixed_begintimestamp": "1"}]},
    {"cards": [{"card_id": "p", "fixed_begintimestamp": -1}]},
    {"cards": [{"card_id": "p", "fixed_begintimestamp": 2**32}]},
    {"cards": [{"card_id": "p", "extra": 1}]}, {"cards": [{"card_id": "p"}], "more": 1},
    {"cards": [None]}, [], "cards",
]


@pytest.mark.parametrize("body", GOOD)
def test_fast_load_equals_the_full_load(body):
    assert _fast_add_card(body) == Schema.load(AddCardSchema(), body)
    assert AddCardSchema().load(body) == Schema.load(AddCardSchema(), body)


@pytest.mark.parametrize("body", BAD)
def test_what_the_full_load_refuses_never_passes_the_fast_path(body):
    assert _fast_add_card(body) is None
    with pytest.raises(ValidationError):
        AddCardSchema().load(body)


def test_fast_dump_equals_the_full_dump():
    answer = {"card_list": [{"cardId": "p1", "cardExt": '{"a":1}'},
                            {"cardId": "p2", "cardExt": "{}"}]}
    assert CardListSchema().dump(answer) == Schema.dump(CardListSchema(), answer)
