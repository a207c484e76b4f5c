"""`ruswf projections status | rebuild` and `ruswf report annual` (the typer apps that
`ruswf.cli` registers)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator

import pytest
import structlog
import typer
from typer.testing import CliRunner

from projections.annual_cycle import ROW_KEYS
from projections.runtime import READ_MODELS
from ruswf.app.service import RusApp
from ruswf.cli.projections import projections_cli, report_cli
from ruswf.domain.commands import ActorRef, Propose

cli = typer.Typer()
cli.add_typer(projections_cli, name="projections")
cli.add_typer(report_cli, name="report")


@pytest.fixture
def run(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("RUSWF_DATABASE_URL", database_url)
    monkeypatch.setenv("RUSWF_LOG_FORMAT", "json")
    monkeypatch.setenv("RUSWF_LOG_LEVEL", "warning")
    # A command configures structlog to print to the runner's stderr, which is closed
    # after it; restore the configuration so later tests (and their threads) can log.
    saved = structlog.get_config()
    yield CliRunner()
    structlog.configure(**saved)


@pytest.fixture
def proposed(app: RusApp, coordinator: ActorRef, content: dict[str, object]) -> str:
    return app.propose(Propose(**content, effective_date="2026-02-02"), coordinator).id


def test_status_lists_every_projection_with_its_lag(run: CliRunner, proposed: str) -> None:
    result = run.invoke(cli, ["projections", "status"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["projection", "version", "position", "head", "lag"]
    assert [line.split() for line in lines[1 : 1 + len(READ_MODELS)]] == [
        [model.name, str(model.version), "0", "1", "1"] for model in READ_MODELS
    ]
    assert [model.name for model in READ_MODELS] == [
        "audit_trail",
        "board",
        "meetings",
        "annual_cycle",
        "obligations",
        "lessons",
    ]


def test_rebuild_catches_up_and_reports_each_projection(run: CliRunner, proposed: str) -> None:
    result = run.invoke(cli, ["projections", "rebuild", "board"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["rebuilt board: position 1, lag 0"]
    result = run.invoke(cli, ["projections", "rebuild"])
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 6


def test_rebuild_of_an_unknown_projection_fails_in_one_line(run: CliRunner) -> None:
    result = run.invoke(cli, ["projections", "rebuild", "boards"])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "ruswf: error: name: unknown projection 'boards' (known: audit_trail, board, meetings,"
        " annual_cycle, obligations, lessons)"
    ]


@pytest.mark.parametrize("fmt", ["json", "csv", "md"])
def test_report_annual_catches_up_and_prints_the_report(
    run: CliRunner, proposed: str, fmt: str
) -> None:
    result = run.invoke(cli, ["report", "annual", "--year", "2026", "--format", fmt])
    assert result.exit_code == 0, result.output
    if fmt == "json":
        report = json.loads(result.stdout)
        grow_t1 = next(
            r for r in report["rows"] if (r["goal_area"], r["period"]) == ("grow", "2026-T1")
        )
        assert grow_t1["proposals"] == 1
    elif fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(result.stdout)))
        assert list(rows[0])[: len(ROW_KEYS)] == list(ROW_KEYS)
        assert len(rows) == 9
    else:
        assert result.stdout.startswith("# Annual cycle 2026")


def test_report_annual_with_an_unknown_format_fails_in_one_line(run: CliRunner) -> None:
    result = run.invoke(cli, ["report", "annual", "--year", "2026", "--format", "xml"])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "ruswf: error: --format: must be one of json, csv, md, not 'xml'"
    ]


def test_an_unreachable_store_fails_in_one_line(
    run: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUSWF_DATABASE_URL", "ftp://nowhere/db")
    result = run.invoke(cli, ["projections", "status"])
    assert result.exit_code == 1
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("ruswf: error: RUSWF_DATABASE_URL")
