"""The import pipeline: 10,000 codes, one failed call, one interruption, a rerun; reconciliation."""

from __future__ import annotations

import json
import os
import socket
import threading
import time

import pytest

from bff.domain.codes.custom import read_code_file
from bff.domain.codes.importer import CodeImporter, ImportInterrupted, ImportLock, ImportLocked
from bff.ground.store import keys
from tests.story import ADMIN


@pytest.fixture
def settings_overrides(redis_url: str) -> dict:
    # No retries inside the WeChat client: every retry seen here is the importer's own.
    return {"sandbox": True, "redis_url": redis_url, "max_retries": 0}


def services(app):
    svc = app.extensions["bff"]
    return svc.redis, svc.wechat


def write_codes(path, codes: list[str], extra: bytes = b"") -> str:
    path.write_bytes("\n".join(codes).encode() + b"\n" + extra)
    return str(path)


@pytest.mark.slow  # seconds of real waiting (timeouts, renewals, outages)
def test_ten_thousand_codes_with_a_failure_an_interruption_and_a_rerun(
        story, app, client, tmp_path):
    r, wechat = services(app)
    card = story.deposit_card()
    codes = [f"C{n:09d}" for n in range(10_000)]
    # Three bad lines (empty, too long, not UTF-8) and one repeated code: reported, not sent.
    path = write_codes(tmp_path / "codes.txt", codes,
                       b"\n" + b"x" * 129 + b"\n\xff\xfe\n" + codes[5].encode() + b"\n")
    codefile = read_code_file(path)
    assert len(codefile.codes) == 10_000 and len(codefile.rejected) == 4
    story.fault("card/code/deposit", http_status=500)

    def stop_after_30(index: int, seen: list[int] = []) -> None:  # noqa: B006
        seen.append(index)
        if len(seen) == 30:
            raise KeyboardInterrupt

    first = CodeImporter(r, wechat, card, codefile, parallel=4, backoff=0.01,
                         on_batch=stop_after_30)
    with pytest.raises(ImportInterrupted):
        first.run()
    done_after_first = len(first.checkpoint())
    assert 30 <= done_after_first < 100  # in-flight batches finished and recorded themselves
    report = CodeImporter(r, wechat, card, read_code_file(path), parallel=4,
                          backoff=0.01).run()

    made = story.calls()
    assert made["card/code/deposit"] == 100 + 1  # every batch once, plus the failed call
    sent = {int(k): int(v) for k, v in r.hgetall(keys.import_checkpoint(
        card, codefile.digest, "sent")).items()}
    assert len(sent) == 100 and sorted(sent.values()) == [1] * 99 + [2]
    # Reconciled once, by the run that finished.
    assert made["card/code/getdepositcount"] == 1 and made["card/code/checkcode"] == 100
    assert report["summary"] == {"succeeded": 10_000, "duplicate": 1, "failed": 0,
                                 "missing": 0, "invalid": 3}
    assert report["complete"] and report["lines"] == 10_004
    assert report["reconciliation"] == {"sent": 10_000, "present_in_wechat": 10_000,
                                        "wechat_deposit_count": 10_000,
                                        "count_consistent": True}
    rows = {row["line"]: row for row in report["codes"]}
    assert [rows[n]["status"] for n in range(10_001, 10_005)] == [
        "invalid", "invalid", "invalid", "duplicate"]
    assert rows[10_004]["reason"] == "repeats line 6 of the file"
    count = client.get(f"/v1/admin/cards/{card}/codes/count", headers=ADMIN)
    assert count.json == {"count": 10_000}


def test_in_flight_batch_resent_counts_as_ours_and_prior_codes_as_duplicates(story, app, client,
                                                                             tmp_path):
    r, wechat = services(app)
    card = story.deposit_card()
    codes = [f"K{n:05d}" for n in range(250)]
    codefile = read_code_file(write_codes(tmp_path / "c.txt", codes))
    # Batch 0 reached WeChat but its answer was never recorded (the run died).
    r.hincrby(keys.import_checkpoint(card, codefile.digest, "sent"), "0", 1)
    wechat.code_deposit(card, codes[:100])
    # Two codes of batch 2 were deposited by someone else before this import.
    res = client.post(f"/v1/admin/cards/{card}/codes", json={"codes": codes[200:202]},
                      headers=ADMIN)
    assert res.status_code == 200 and res.json["succ_code"] == codes[200:202]
    report = CodeImporter(r, wechat, card, codefile, parallel=2).run(set_stock=True)
    assert report["summary"] == {"succeeded": 248, "duplicate": 2, "failed": 0, "missing": 0,
                                 "invalid": 0}
    first = report["codes"][0]
    assert first["status"] == "succeeded" and "sent again" in first["reason"]
    assert report["stock_added"] == 248
    again = CodeImporter(r, wechat, card, codefile, parallel=2).run(set_stock=True)
    assert again["stock_added"] == 0 and again["summary"] == report["summary"]
    assert story.calls("card/modifystock") == 1
    assert story.calls("card/code/deposit") == 1 + 1 + 3  # manual, endpoint, first run


def test_a_batch_that_keeps_failing_is_reported_and_retried_on_rerun(story, app, tmp_path):
    r, wechat = services(app)
    card = story.deposit_card()
    codes = [f"F{n:04d}" for n in range(150)]
    codefile = read_code_file(write_codes(tmp_path / "c.txt", codes))
    story.fault("card/code/deposit", errcode=-1, count=4)
    report = CodeImporter(r, wechat, card, codefile, parallel=1, max_attempts=4,
                          backoff=0.001).run()
    assert report["summary"]["failed"] == 100 and report["summary"]["succeeded"] == 50
    assert not report["complete"]
    failed = [row for row in report["codes"] if row["status"] == "failed"]
    assert failed[0]["reason"].startswith("failed after 4 attempts")
    rerun = CodeImporter(r, wechat, card, codefile, parallel=1).run()
    assert rerun["complete"] and rerun["summary"]["succeeded"] == 150


def test_deposit_endpoint_limits(story, client):
    card = story.deposit_card()
    too_many = client.post(f"/v1/admin/cards/{card}/codes", headers=ADMIN,
                           json={"codes": [str(n) for n in range(101)]})
    assert too_many.status_code == 422
    repeated = client.post(f"/v1/admin/cards/{card}/codes", headers=ADMIN,
                           json={"codes": ["a", "a"]})
    assert repeated.status_code == 422
    check = client.post(f"/v1/admin/cards/{card}/codes/check", headers=ADMIN,
                        json={"codes": ["a", "b"]})
    assert check.status_code == 200
    assert check.json == {"exist_code": [], "not_exist_code": ["a", "b"]}
    assert "card/code/deposit" not in story.calls()


def test_csv_column_and_header(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text('id,code\n1,"A,1"\n2,B2\n3\n', encoding="utf-8")
    codefile = read_code_file(path, csv_column=2, skip_header=True)
    assert codefile.codes == ["A,1", "B2"]
    assert [(r.line, r.reason) for r in codefile.rejected] == [(4, "no column 2")]
    assert json.dumps(codefile.lines) == "[2, 3]"


def test_two_imports_of_one_card_at_once_are_locked_and_the_second_says_who_holds_it(
        story, app, runner, tmp_path):
    r, wechat = services(app)
    card = story.deposit_card()
    first_file = read_code_file(write_codes(tmp_path / "a.txt", [f"A{n:04d}" for n in range(300)]))
    second = write_codes(tmp_path / "b.txt", [f"B{n:04d}" for n in range(10)])
    started, go_on = threading.Event(), threading.Event()

    def hold(index: int) -> None:
        started.set()
        assert go_on.wait(30)

    reports: list = []
    first = threading.Thread(target=lambda: reports.append(
        CodeImporter(r, wechat, card, first_file, parallel=1, on_batch=hold).run()))
    first.start()
    try:
        assert started.wait(30)
        res = runner.invoke(args=["codes", "import", card, second])  # another file, same card
        assert res.exit_code == 1
        line = res.output.strip().splitlines()[-1]
        assert line.startswith(f"Error: another import of card {card} is running: ")
        assert f"host {socket.gethostname()}, pid {os.getpid()}, started 20" in line
        assert story.calls("card/code/deposit") <= 2  # the first run's two in flight only
    finally:
        go_on.set()
        first.join(30)
    assert reports and reports[0]["complete"]
    assert r.get(keys.import_lock(card)) is None  # released by the run that held it
    res = runner.invoke(args=["codes", "import", card, second,
                              "--report", str(tmp_path / "report.json")])
    assert res.exit_code == 0, res.output


@pytest.mark.slow  # seconds of real waiting (timeouts, renewals, outages)
def test_the_import_lock_is_renewed_while_held_and_another_card_is_not_locked(app):
    r, _ = services(app)
    with ImportLock(r, "card-a", ttl=1):
        time.sleep(1.6)  # past the first TTL: renewed meanwhile
        assert r.get(keys.import_lock("card-a")) is not None
        with pytest.raises(ImportLocked):
            ImportLock(r, "card-a").__enter__()
        with ImportLock(r, "card-b"):
            pass
    assert r.get(keys.import_lock("card-a")) is None
