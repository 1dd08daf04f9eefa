"""A 422's top-level ``message`` names the invalid fields and why; ``errors`` keeps them all."""

from __future__ import annotations

from bff.edges.http.errors import validation_message
from tests.story import ADMIN, bearer


def test_message_names_each_field_path_and_its_first_reason(story, client):
    token = story.login(story.user())
    res = client.post("/v1/cards/add-card", headers=bearer(token),
                      json={"cards": [{"card_id": 5}]})
    assert res.status_code == 422
    assert res.json["message"] == "cards[0].card_id: Not a valid string."
    assert res.json["errors"] == {"json": {"cards": {"0": {"card_id": ["Not a valid string."]}}}}


def test_message_lists_three_fields_and_counts_the_rest(story, client):
    token = story.login(story.user())
    cards = [{"card_id": 1}, {"card_id": 2}, {"card_id": 3}, {"card_id": 4}, {"card_id": 5}]
    res = client.post("/v1/cards/add-card", headers=bearer(token), json={"cards": cards})
    assert res.status_code == 422
    assert res.json["message"] == (
        "cards[0].card_id: Not a valid string.; cards[1].card_id: Not a valid string.; "
        "cards[2].card_id: Not a valid string.; …and 2 more")
    assert len(res.json["errors"]["json"]["cards"]) == 5


def test_a_query_parameter_and_a_whole_field(story, client):
    res = client.get("/v1/admin/cards?count=abc", headers=ADMIN)
    assert res.status_code == 422
    assert res.json["message"] == "?count: Not a valid integer."
    token = story.login(story.user())
    res = client.post("/v1/cards/add-card", headers=bearer(token), json={"cards": []})
    assert res.json["message"].startswith("cards: Length must be between 1 and ")


def test_paths_of_nested_lists_schema_errors_and_other_locations():
    assert validation_message({"json": {"_schema": ["exactly one of code, encrypt_code"]}}) == (
        "body: exactly one of code, encrypt_code")
    assert validation_message({"json": {"a": {"_schema": ["bad pair"]}}}) == "a: bad pair"
    assert validation_message({"json": {"rows": {"2": {"cells": {"0": ["Not a number."]}}}}}) \
        == "rows[2].cells[0]: Not a number."
    assert validation_message({"headers": {"Idempotency-Key": ["Too long."]}}) == (
        "headers Idempotency-Key: Too long.")
    assert validation_message({"json": {}}) is None
