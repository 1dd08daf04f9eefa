"""``bff cards ...``: the catalogue from the command line, with a card definition file."""

from __future__ import annotations

import json
from pathlib import Path

from tests.catalogue.samples import coupon, member_card_for_mini_program

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run(runner, *args: str):
    return runner.invoke(args=list(args))


def test_create_list_get_stock_update_delete(runner, story, tmp_path):
    card_file = tmp_path / "card.json"
    card_file.write_text(json.dumps(coupon("DISCOUNT"), ensure_ascii=False), encoding="utf-8")
    created = run(runner, "cards", "create", str(card_file))
    assert created.exit_code == 0, created.output
    card_id = json.loads(created.output)["card_id"]

    listed = json.loads(run(runner, "cards", "list").output)
    assert listed == {"card_ids": [card_id], "total": 1}

    assert json.loads(run(runner, "cards", "stock", card_id, "+100").output) == {"delta": 100}
    assert json.loads(run(runner, "cards", "stock", card_id, "-20").output) == {"delta": -20}
    got = json.loads(run(runner, "cards", "get", card_id).output)
    assert got["card"]["discount"]["base_info"]["sku"]["quantity"] == 580
    assert got["review_state"] == "pending"
    refused = run(runner, "cards", "stock", card_id, "-10000")
    assert refused.exit_code == 1 and "less stock" in refused.output
    assert run(runner, "cards", "stock", card_id, "lots").exit_code != 0

    change = tmp_path / "change.json"
    change.write_text(json.dumps({"base_info": {"description": "周一至周五可用"}}),
                      encoding="utf-8")
    updated = run(runner, "cards", "update", card_id, str(change))
    assert json.loads(updated.output) == {"send_check": True}

    deleted = runner.invoke(args=["cards", "delete", card_id, "--yes"])
    assert deleted.exit_code == 0, deleted.output
    assert json.loads(run(runner, "cards", "get", card_id).output)["review_state"] == "deleted"


def test_a_bad_card_file_names_the_field(runner, story, tmp_path):
    bad = coupon("GROUPON")
    del bad["card"]["groupon"]["deal_detail"]
    card_file = tmp_path / "card.json"
    card_file.write_text(json.dumps(bad), encoding="utf-8")
    answer = run(runner, "cards", "create", str(card_file))
    assert answer.exit_code == 1
    assert "card.groupon.deal_detail" in answer.output
    card_file.write_text("{not json", encoding="utf-8")
    assert "not JSON" in run(runner, "cards", "create", str(card_file)).output


def test_activation_form_set_and_get(runner, story, tmp_path):
    card_id = story.create_card(member_card_for_mini_program())
    form_file = tmp_path / "form.json"
    form = {"required_form": {"common_field_id_list": ["USER_FORM_INFO_FLAG_MOBILE"]}}
    form_file.write_text(json.dumps(form), encoding="utf-8")
    stored = run(runner, "cards", "activation-form", "set", card_id, str(form_file))
    assert stored.exit_code == 0, stored.output
    got = json.loads(run(runner, "cards", "activation-form", "get", card_id).output)
    assert got["required_form"]["common_field_id_list"] == ["USER_FORM_INFO_FLAG_MOBILE"]


def test_the_readmes_example_files_are_accepted(runner, story):
    created = run(runner, "cards", "create", str(EXAMPLES / "member-card-mini-program.json"))
    assert created.exit_code == 0, created.output
    card_id = json.loads(created.output)["card_id"]
    form = run(runner, "cards", "activation-form", "set", card_id,
               str(EXAMPLES / "activation-form.json"))
    assert form.exit_code == 0, form.output
    assert run(runner, "cards", "create", str(EXAMPLES / "cash-coupon.json")).exit_code == 0
