"""The operator command line: one clear line and a non-zero exit on errors."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import zxingcpp
from PIL import Image

from tests.story import ADMIN


def test_codes_import_count_check(story, runner, tmp_path):
    card = story.deposit_card()
    codes = [f"Q{n:04d}" for n in range(250)]
    src = tmp_path / "codes.csv"
    src.write_text("n,code\n" + "".join(f"{i},{c}\n" for i, c in enumerate(codes)) + "9,\n")
    report = tmp_path / "report.csv"
    res = runner.invoke(args=["codes", "import", card, str(src), "--csv-column", "2",
                              "--skip-header", "--parallel", "3", "--set-stock",
                              "--report", str(report)])
    assert res.exit_code == 0, res.output + res.stderr
    summary = json.loads(res.stdout)
    assert summary["summary"]["succeeded"] == 250 and summary["summary"]["invalid"] == 1
    assert summary["stock_added"] == 250 and summary["complete"] is True
    assert "deposit" in res.stderr and "code/s" in res.stderr  # the progress bar
    rows = list(csv.DictReader(io.StringIO(report.read_text())))
    assert len(rows) == 251 and rows[-1]["status"] == "invalid"
    res = runner.invoke(args=["codes", "count", card])
    assert res.exit_code == 0 and json.loads(res.stdout)["count"] == 250
    res = runner.invoke(args=["codes", "check", card, "Q0001", "nope"])
    assert res.exit_code == 1
    assert json.loads(res.stdout)["not_exist_code"] == ["nope"]
    assert res.stderr.strip() == "Error: 1 of 2 code(s) are not in WeChat"
    # A rerun of the same file skips every batch.
    before = story.calls("card/code/deposit")
    res = runner.invoke(args=["codes", "import", card, str(src), "--csv-column", "2",
                              "--skip-header", "--report", str(tmp_path / "r.json")])
    assert res.exit_code == 0 and "resuming: 3 of 3 batches" in res.stderr
    assert story.calls("card/code/deposit") == before


def test_import_errors_are_one_line(runner, tmp_path):
    src = tmp_path / "codes.txt"
    src.write_text("A1\nA2\n")
    res = runner.invoke(args=["codes", "import", "no-such-card", str(src),
                              "--report", str(tmp_path / "r.json")])
    assert res.exit_code == 1
    [line] = res.stderr.strip().splitlines()[-1:]
    assert line.startswith("Error: import aborted: WeChat refused batch 0 (40073)")
    src.write_text("\n\n")
    res = runner.invoke(args=["codes", "import", "c", str(src)])
    assert res.exit_code == 1 and res.stderr.strip() == "Error: the file holds no valid code"


def test_qrcode_create_writes_a_png_of_the_url(story, runner, tmp_path):
    card = story.card()
    png = tmp_path / "qr.png"
    res = runner.invoke(args=["qrcode", "create", card, "--outer-str", "door",
                              "--expire-seconds", "600", "--png", str(png)])
    assert res.exit_code == 0, res.output
    answer = json.loads(res.stdout)
    [found] = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.read_bytes())))
    assert found.text == answer["url"] and answer["expire_seconds"] == 600
    res = runner.invoke(args=["qrcode", "create", card, "--expire-seconds", "30"])
    assert res.exit_code == 1
    assert res.stderr.strip().startswith("Error: invalid input: expire_seconds:")
    res = runner.invoke(args=["qrcode", "create", card, card, "--openid", "o"])
    assert res.exit_code == 1 and "needs exactly one card" in res.stderr


def test_whitelist_set(story, runner):
    users = [story.user()["oa_openid"] for _ in range(2)]
    res = runner.invoke(args=["whitelist", "set", "--openid", users[0], "--openid", users[1],
                              "--username", "eddy"])
    assert res.exit_code == 0 and json.loads(res.stdout)["openid"] == users
    many = [a for i in range(11) for a in ("--username", f"u{i}")]
    res = runner.invoke(args=["whitelist", "set", *many])
    assert res.exit_code == 1 and "at most 10" in res.stderr
    assert runner.invoke(args=["whitelist", "set"]).exit_code == 1


def test_cards_profile_and_identities(story, runner, client):
    card = story.card()
    res = runner.invoke(args=["cards", "profile", "set", card, "self_redeem=true",
                              "code_mode=deposit"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(args=["cards", "profile", "get", card])
    got = json.loads(res.stdout)
    assert got["self_redeem"] is True and got["code_mode"] == "deposit"
    api = client.get(f"/v1/admin/cards/{card}/profile", headers=ADMIN).json
    assert api["self_redeem"] is True
    res = runner.invoke(args=["cards", "profile", "set", card, "code_mode=sometimes"])
    assert res.exit_code == 1 and res.stderr.startswith("Error: invalid input: code_mode")
    res = runner.invoke(args=["identities", "show", "--oa-openid", "nobody"])
    assert res.exit_code == 1 and "no identity" in res.stderr
    res = runner.invoke(args=["identities", "show"])
    assert res.exit_code == 1 and "exactly one" in res.stderr


def test_codes_import_report_defaults_to_a_git_ignored_path(story, runner, tmp_path,
                                                            monkeypatch):
    """Without --report the report goes under artifacts/imports/ (git-ignored), never into the
    current directory itself, and the summary says where."""
    card = story.deposit_card()
    src = tmp_path / "codes.txt"
    src.write_text("D0001\nD0002\n")
    work = tmp_path / "checkout"
    work.mkdir()
    monkeypatch.chdir(work)
    res = runner.invoke(args=["codes", "import", card, str(src)])
    assert res.exit_code == 0, res.output + res.stderr
    report = Path(json.loads(res.stdout)["report"])
    assert report.parent == Path("artifacts", "imports")
    assert report.name.startswith(f"import-{card}-") and report.suffix == ".json"
    assert json.loads((work / report).read_text())["summary"]["succeeded"] == 2
    assert [p.name for p in work.iterdir()] == ["artifacts"]
