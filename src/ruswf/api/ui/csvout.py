"""CSV for spreadsheets, safe to open: a cell that a spreadsheet would read as a formula
is neutralised. (The API gets its own shared helper; this is the UI's one function.)"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """The value as a CSV cell; one starting with = + - @ tab or CR gets a leading
    apostrophe, so a spreadsheet shows it as text instead of running it (OWASP CSV
    injection)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)  # a number is data, never a formula, even when negative
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def to_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return out.getvalue()
