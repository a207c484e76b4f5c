"""The one CSV writer of ruswf: every cell a spreadsheet could take for a formula is
neutralised (OWASP "CSV injection").

A text cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return is a formula
(or becomes one) when a reporter opens the file in Excel or LibreOffice: `=HYPERLINK(...)`
in an initiative's title would run on the reporter's machine. Such a cell is written with
a leading `'`, which spreadsheets show as text and do not evaluate. Numbers are written
as they are (a negative number is not text), so figures stay numeric.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """A cell as it may be written: text that could start a formula gets a leading `'`."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def write_csv(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """CSV text: a header row of `columns`, then `rows` (None as an empty cell), every
    cell neutralised."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([neutralise(c) for c in columns])
    for row in rows:
        writer.writerow(["" if cell is None else neutralise(cell) for cell in row])
    return out.getvalue()
