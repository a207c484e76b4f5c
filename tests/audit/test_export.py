"""`ruswf audit export`: the audit trail as JSON Lines and CSV, open-data decisions, and a
manifest whose sums and hashes an auditor can check from the export alone."""

from __future__ import annotations

import base64
import csv
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ruswf.app.audit.export import AUDIT_COLUMNS, DECISION_COLUMNS, export, selection
from ruswf.app.audit.ledger import Ledger
from ruswf.app.service import RusApp
from ruswf.domain.commands import ActorRef, Propose


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_export_writes_jsonl_csv_and_a_manifest_of_their_sha256(
    app: RusApp, decided: str, tmp_path: Path
) -> None:
    Ledger(app).seal()
    out = tmp_path / "export"
    manifest = export(app, selection(app), out, ledger=Ledger(app))
    assert json.loads((out / "manifest.json").read_text()) == manifest
    listed = {f["name"]: f for f in manifest["files"]}
    assert set(listed) == {
        "audit_trail.jsonl",
        "audit_trail.csv",
        "decisions.jsonl",
        "decisions.csv",
    }
    for name, entry in listed.items():
        data = (out / name).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
        assert entry["bytes"] == len(data)
    assert listed["audit_trail.jsonl"]["rows"] == 10
    assert manifest["ledger_head"]["position"] == 10
    assert manifest["pending"] == 0
    with (out / "audit_trail.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0]) == AUDIT_COLUMNS
    assert [r["type"] for r in rows][-1] == "Approved"


def test_every_exported_hash_recomputes_from_the_export_alone(
    app: RusApp, decided: str, tmp_path: Path
) -> None:
    ledger = Ledger(app)
    ledger.seal()
    manifest = export(app, selection(app), tmp_path / "export", ledger=Ledger(app))
    rows = lines(tmp_path / "export" / "audit_trail.jsonl")
    for row in rows:
        state = base64.b64decode(row["state_b64"])
        header = f"{row['initiative_id']}\n{row['version']}\n{row['topic']}\n".encode()
        event = hashlib.sha256(header + state).hexdigest()
        assert event == row["event_hash"]
        chain = f"{row['previous_chain_hash']}\n{event}"
        assert hashlib.sha256(chain.encode()).hexdigest() == row["chain_hash"]
        link = f"{row['previous_ledger_hash']}\n{row['position']}\n{event}"
        assert hashlib.sha256(link.encode()).hexdigest() == row["ledger_hash"]
    assert rows[-1]["ledger_hash"] == manifest["ledger_head"]["ledger_hash"]


def test_open_data_decisions_have_no_personal_data(
    app: RusApp, decided: str, tmp_path: Path
) -> None:
    export(app, selection(app), tmp_path / "export", ledger=Ledger(app))
    decisions = lines(tmp_path / "export" / "decisions.jsonl")
    assert tuple(decisions[0]) == DECISION_COLUMNS
    assert [(d["outcome"], d["title"]) for d in decisions] == [
        ("deferred", "Branschanalys – besöksnäringen"),
        ("referred_back", "Branschanalys – besöksnäringen"),
        ("approved", "Branschanalys 2.0"),
    ]
    text = (tmp_path / "export" / "decisions.csv").read_text(encoding="utf-8")
    assert "sec-1" not in text
    assert "coord-1" not in text


def test_export_of_an_initiative_or_a_period(
    app: RusApp, decided: str, coordinator: ActorRef, content: dict[str, Any], tmp_path: Path
) -> None:
    other = app.propose(Propose(**content), coordinator).id
    mine = export(app, selection(app, initiative_id=decided), tmp_path / "mine", ledger=Ledger(app))
    assert mine["files"][0]["rows"] == 10
    assert {r["initiative_id"] for r in lines(tmp_path / "mine" / "audit_trail.jsonl")} == {decided}
    now = app.strategy.period_of(app.today()).id
    current = export(app, selection(app, period=now), tmp_path / "now", ledger=Ledger(app))
    assert current["files"][0]["rows"] == 11
    assert other in (tmp_path / "now" / "audit_trail.jsonl").read_text()
    # Decisions are selected by their meeting's date: all three meetings were in 2026-T1.
    meetings = export(app, selection(app, period="2026-T1"), tmp_path / "t1", ledger=Ledger(app))
    assert [f["rows"] for f in meetings["files"]][2] == 3


def test_cli_export_prints_the_sums_and_marks_pending_events(
    run: Callable[..., Any], decided: str, tmp_path: Path
) -> None:
    result = run("audit", "export", "--initiative", decided, "--out", str(tmp_path / "x"))
    assert result.exit_code == 0, result.output
    assert "audit_trail.jsonl  (10 rows)" in result.stdout
    assert "10 exported events not sealed yet" in result.stdout
    bad = run("audit", "export", "--period", "2026-T9", "--out", str(tmp_path / "y"))
    assert bad.exit_code == 1
