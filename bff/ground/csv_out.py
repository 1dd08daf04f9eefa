"""Every CSV the CLI writes (``bff stats channels|wechat``, ``bff codes import --report
x.csv``): one writer, whose cells a spreadsheet never runs.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is a formula to
Excel, LibreOffice and Google Sheets (``=HYPERLINK(...)`` in a channel tag someone chose, or a
custom code); such a text cell is written with a leading ``'``, which spreadsheets show as
text. Numbers are written as they are.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from typing import IO, Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """``value``, with a ``'`` before a text cell that a spreadsheet would run."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def write_rows(stream: IO[str], header: list[str], rows: Iterable[Mapping[str, Any]]) -> None:
    """A header line, then ``rows`` (missing columns empty), every cell through ``safe_cell``."""
    writer = csv.DictWriter(stream, fieldnames=header, restval="", lineterminator="\n")
    writer.writerow({name: safe_cell(name) for name in header})
    for row in rows:
        writer.writerow({key: safe_cell(value) for key, value in row.items()})
