"""A code of spaces names no code: every endpoint that takes a code refuses it by its schema
(422, as the spec predicts), before anything else looks at it; it used to be a 400 the spec
did not allow."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.story import ADMIN, bearer

BLANKS = ["   ", "\t", " \n "]
SPEC = json.loads((Path(__file__).resolve().parents[1] / "openapi" / "openapi.json").read_text())


@pytest.mark.parametrize("blank", BLANKS)
def test_blank_codes_are_a_422_everywhere(story, client, blank):
    card_id = story.card()
    story.put_profile(card_id, self_redeem=True)
    token = story.login(story.user())
    body = {"card_id": card_id, "code": blank}
    answers = {
        "self-redeem": story.redeem(token, "k1", **body),
        "activate": client.post("/v1/membership/activate", headers=bearer(token),
                                json={**body, "activate_ticket": "t"}),
        "counter query": client.post("/v1/admin/codes/query", headers=ADMIN, json=body),
        "counter redeem": client.post("/v1/admin/codes/redeem", json=body,
                                      headers={**ADMIN, "Idempotency-Key": "k2"}),
    }
    for name, answer in answers.items():
        error = story.assert_error(answer, 422)
        assert "code" in json.dumps(error.get("errors")), (name, error)


@pytest.mark.parametrize(("path", "schema"), [
    ("/v1/cards/codes/redeem", "Redeem"), ("/v1/membership/activate", "ActivateRequest"),
    ("/v1/admin/codes/query", "CodeRef"), ("/v1/admin/codes/redeem", "RedeemRequest"),
])
def test_the_spec_says_so(path, schema):
    pattern = SPEC["components"]["schemas"][schema]["properties"]["code"]["pattern"]
    assert not re.search(pattern, "   ") and re.search(pattern, " 12345 ")
    assert "422" in SPEC["paths"][path]["post"]["responses"]
