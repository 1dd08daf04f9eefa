"""Custom codes: one deposit (≤100), the deposit count, checks, and reading a code file.

A code file is one code per line, or CSV with ``csv_column`` (1-based) holding the code. Every
line ends up either in ``CodeFile.codes`` (valid, first occurrence, file order) or in
``CodeFile.rejected`` with the reason, so an import report can account for every line.
"""

from __future__ import annotations

import csv
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bff.domain.issuing import OPERATOR_REFUSALS
from bff.ground.errors import Unprocessable, refusals
from bff.ground.wechat.api import WeChatApi
from bff.ground.wechat.values import MAX_CODE_LENGTH

# WeChat's batch limit: ``card/code/deposit`` and ``card/code/checkcode`` take at most 100 codes
# per call. A code longer than MAX_CODE_LENGTH is refused here, before it reaches WeChat. The
# operator schemas (``bff.edges.admin.schemas``) validate with the same two numbers.
MAX_BATCH = 100
# A custom code is visible ASCII (letters, digits, punctuation; never blank): one rule for a
# code file and for POST .../codes (the schema's pattern is this one).
CUSTOM_CODE_PATTERN = rf"^[!-~]{{1,{MAX_CODE_LENGTH}}}$"
_CUSTOM_CODE = re.compile(CUSTOM_CODE_PATTERN)


@dataclass
class Rejected:
    line: int
    code: str
    status: str  # "invalid" or "duplicate"
    reason: str


@dataclass
class CodeFile:
    digest: str  # sha256 of the file's bytes: the checkpoint's identity
    codes: list[str] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)  # line number of each code
    rejected: list[Rejected] = field(default_factory=list)
    options: str = ""  # how the file was read (CSV column, header); part of the checkpoint

    @property
    def checkpoint_id(self) -> str:
        """The file's content and how it was read: the same file read with another CSV column
        is another list of codes, and must not skip batches the first reading finished."""
        if not self.options:
            return self.digest
        return hashlib.sha256(f"{self.digest}|{self.options}".encode()).hexdigest()


def read_code_file(path: str | Path, *, csv_column: int | None = None,
                   skip_header: bool = False) -> CodeFile:
    data = Path(path).read_bytes()
    options = ",".join(f"{k}={v}" for k, v in (("csv_column", csv_column),
                                                ("skip_header", skip_header)) if v)
    out = CodeFile(digest=hashlib.sha256(data).hexdigest(), options=options)
    seen: dict[str, int] = {}
    raw_lines = data.split(b"\n")
    if raw_lines and raw_lines[-1] == b"":
        raw_lines.pop()  # the file's final newline
    for number, raw in enumerate(raw_lines, start=1):
        if number == 1:
            raw = raw.removeprefix(b"\xef\xbb\xbf")  # UTF-8 BOM
            if skip_header:
                continue
        try:
            text = raw.rstrip(b"\r").decode("utf-8")
        except UnicodeDecodeError:
            out.rejected.append(Rejected(number, raw.decode("utf-8", "replace"), "invalid",
                                         "not UTF-8"))
            continue
        code, reason = _code_of(text, csv_column)
        if reason is None and code in seen:
            out.rejected.append(Rejected(number, code, "duplicate",
                                         f"repeats line {seen[code]} of the file"))
            continue
        if reason is not None:
            out.rejected.append(Rejected(number, code, "invalid", reason))
            continue
        seen[code] = number
        out.codes.append(code)
        out.lines.append(number)
    return out


def _code_of(text: str, csv_column: int | None) -> tuple[str, str | None]:
    if csv_column is not None:
        row = next(csv.reader([text]), [])
        if len(row) < csv_column:
            return text, f"no column {csv_column}"
        text = row[csv_column - 1]
    code = text.strip()
    if not code:
        return code, "empty"
    if len(code) > MAX_CODE_LENGTH:
        return code, f"longer than {MAX_CODE_LENGTH} characters"
    if not _CUSTOM_CODE.fullmatch(code):
        return code, "not visible ASCII (letters, digits, punctuation; no spaces or controls)"
    return code, None


def deposit(wechat: WeChatApi, card_id: str, codes: list[str]) -> dict[str, Any]:
    """One ``card/code/deposit`` of ≤100 codes: ``{succ_code, duplicate_code, fail_code}``."""
    _check_size(codes)
    with refusals(OPERATOR_REFUSALS):
        answer = wechat.code_deposit(card_id, codes)
    return {k: answer.get(k, []) for k in ("succ_code", "duplicate_code", "fail_code")}


def deposit_count(wechat: WeChatApi, card_id: str) -> int:
    with refusals(OPERATOR_REFUSALS):
        return int(wechat.code_deposit_count(card_id).get("count", 0))


def check(wechat: WeChatApi, card_id: str, codes: list[str]) -> dict[str, list[str]]:
    """One ``card/code/checkcode`` of at most 100 codes."""
    _check_size(codes)
    with refusals(OPERATOR_REFUSALS):
        answer = wechat.code_check(card_id, codes)
    return {"exist_code": list(answer.get("exist_code") or []),
            "not_exist_code": list(answer.get("not_exist_code") or [])}


def _check_size(codes: list[str]) -> None:
    if not 1 <= len(codes) <= MAX_BATCH:
        raise Unprocessable(f"between 1 and {MAX_BATCH} codes per call")
