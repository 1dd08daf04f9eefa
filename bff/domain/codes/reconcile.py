"""Reconciling an import with WeChat and reporting on every line of the file."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bff.domain.codes.custom import MAX_BATCH, CodeFile
from bff.ground.csv_out import write_rows
from bff.ground.wechat.api import WeChatApi

STATUSES = ("succeeded", "duplicate", "failed", "missing", "invalid")


class Progress:
    """Progress sink of the pipeline (no-op); the command line shows a tqdm bar instead."""

    def start(self, stage: str, total: int, initial: int = 0) -> None: ...

    def advance(self, n: int) -> None: ...

    def close(self) -> None: ...


def check_all(wechat: WeChatApi, card_id: str, codes: list[str], *, parallel: int = 4,
              progress: Progress | None = None) -> set[str]:
    """``checkcode`` over every code (batches of 100, ``parallel`` at once): the ones present."""
    progress = progress or Progress()
    batches = [codes[i:i + MAX_BATCH] for i in range(0, len(codes), MAX_BATCH)]

    def one(batch: list[str]) -> list[str]:
        return list(wechat.code_check(card_id, batch).get("exist_code") or [])

    present: set[str] = set()
    progress.start("check", len(codes))
    try:
        with ThreadPoolExecutor(max_workers=max(1, parallel), thread_name_prefix="check") as ex:
            for batch, exist in zip(batches, ex.map(one, batches), strict=True):
                present.update(exist)
                progress.advance(len(batch))
    finally:
        progress.close()
    return present


def classify(code: str, result: dict[str, Any] | None, present: bool, attempts: int,
             error: str | None) -> tuple[str, str]:
    """(status, reason) of one sent code from its batch's deposit answer and checkcode."""
    if result is None:
        if present:
            return "succeeded", "present in WeChat although its batch did not finish"
        return "failed", error or "batch not sent"
    if code in result["fail"] or (not present and result.get("fail_n", 0) and not result["fail"]):
        if present:
            return "succeeded", "deposit reported a failure but checkcode finds it"
        return "failed", "WeChat refused the code (fail_code)"
    if code in result["dup"]:
        if not present:
            return "missing", "deposit reported a duplicate but checkcode does not find it"
        if attempts > 1:
            return "succeeded", "batch sent again; an earlier attempt stored it"
        return "duplicate", "already in WeChat before this import"
    if not present:
        return "missing", "deposit reported success but checkcode does not find it"
    return "succeeded", ""


def build_report(card_id: str, codefile: CodeFile, batches: list[list[str]],
                 done: dict[int, dict[str, Any]], errors: dict[int, str],
                 attempts: dict[int, int], present: set[str], wechat_count: int) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    line_of = dict(zip(codefile.codes, codefile.lines, strict=True))
    for index, batch in enumerate(batches):
        for code in batch:
            status, reason = classify(code, done.get(index), code in present,
                                      attempts.get(index, 1), errors.get(index))
            rows.append({"line": line_of[code], "code": code, "status": status,
                         "reason": reason, "batch": index})
    for rej in codefile.rejected:
        rows.append({"line": rej.line, "code": rej.code, "status": rej.status,
                     "reason": rej.reason, "batch": None})
    rows.sort(key=lambda row: row["line"])
    summary = {s: 0 for s in STATUSES}
    for row in rows:
        summary[row["status"]] += 1
    in_wechat = sum(1 for c in codefile.codes if c in present)
    return {
        "card_id": card_id,
        "file_sha256": codefile.digest,
        "lines": len(rows),
        "batches": len(batches),
        "summary": summary,
        "reconciliation": {
            "sent": len(codefile.codes),
            "present_in_wechat": in_wechat,
            "wechat_deposit_count": wechat_count,
            # The card's count also holds codes of other imports: it can only be larger.
            "count_consistent": wechat_count >= in_wechat,
        },
        "complete": summary["failed"] == 0 and summary["missing"] == 0,
        "stock_added": None,
        "codes": rows,
    }


def write_report(report: dict[str, Any], path: str | Path) -> None:
    """JSON, or CSV (one row per line of the file) when the name ends in ``.csv``."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        with path.open("w", newline="", encoding="utf-8") as f:
            write_rows(f, ["line", "code", "status", "reason", "batch"], report["codes"])
        return
    path.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
