"""`ruswf gdpr register --reminders` and `ruswf reminders send` as a user runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ruswf.app.service import RusApp
from ruswf.domain.strategy import Strategy
from tests.integrations.conftest import SmtpServer

RUSWF = str(Path(sys.executable).parent / "ruswf")


@pytest.fixture
def run(database_url: str, smtp: SmtpServer) -> Callable[..., subprocess.CompletedProcess[str]]:
    env = {
        **os.environ,
        "RUSWF_DATABASE_URL": database_url,
        "RUSWF_SMTP_HOST": "127.0.0.1",
        "RUSWF_SMTP_PORT": str(smtp.port),
        "RUSWF_SMTP_FROM": "ruswf@region.example.se",
        "RUSWF_SMTP_TIMEOUT": "5",
        "RUSWF_LOG_LEVEL": "warning",
    }

    def ruswf(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [RUSWF, *args], env=env, capture_output=True, text=True, timeout=120, check=False
        )

    return ruswf


def test_register_with_reminders_prints_the_id_and_send_mails_it_once(
    run: Callable[..., subprocess.CompletedProcess[str]],
    mail_app: RusApp,
    approved: Callable[..., str],
    smtp: SmtpServer,
    strategy: Strategy,
) -> None:
    approved(mail_app, "sundsvall")
    registered = run(
        "gdpr", "register", "--name", "Anna", "--email", "anna@example.se", "--org", "sundsvall",
        "--reminders",
    )  # fmt: skip
    assert registered.returncode == 0, registered.stderr
    person_id = registered.stdout.strip().splitlines()[-1]
    assert person_id.startswith("p_")
    today = (strategy.period("2026-T1").due).isoformat()
    first = run("reminders", "send", "--today", today)
    assert first.returncode == 0, first.stderr
    assert f"sent report to {person_id}" in first.stdout
    second = run("reminders", "send", "--today", today)
    assert second.returncode == 0, second.stderr
    assert "0 sent" in second.stdout
    assert len(smtp.mailbox.to("anna@example.se")) == 1


def test_send_with_the_smtp_server_down_exits_non_zero_with_one_line(
    run: Callable[..., subprocess.CompletedProcess[str]],
    mail_app: RusApp,
    approved: Callable[..., str],
    smtp: SmtpServer,
    strategy: Strategy,
) -> None:
    approved(mail_app, "sundsvall")
    registered = run(
        "gdpr", "register", "--name", "Anna", "--email", "anna@example.se", "--org", "sundsvall",
        "--reminders",
    )  # fmt: skip
    assert registered.returncode == 0, registered.stderr
    smtp.stop()
    today: Any = strategy.period("2026-T1").due.isoformat()
    result = run("reminders", "send", "--today", today)
    assert result.returncode != 0
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("ruswf: error: reminders not sent: SMTP server 127.0.0.1:")


def test_dry_run_lists_the_messages_and_sends_nothing(
    run: Callable[..., subprocess.CompletedProcess[str]],
    mail_app: RusApp,
    approved: Callable[..., str],
    smtp: SmtpServer,
    strategy: Strategy,
) -> None:
    approved(mail_app, "sundsvall")
    run(
        "gdpr", "register", "--name", "Anna", "--email", "anna@example.se", "--org", "sundsvall",
        "--reminders",
    )  # fmt: skip
    today = strategy.period("2026-T1").due.isoformat()
    result = run("reminders", "send", "--today", today, "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "would send report to p_" in result.stdout
    assert smtp.mailbox.all() == []
    again = run("reminders", "send", "--today", today)
    assert "1 sent" in again.stdout
    after = run("reminders", "send", "--today", today, "--dry-run")
    assert after.returncode == 0, after.stderr
    assert "would send" not in after.stdout
