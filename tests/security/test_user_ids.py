"""Finding 7: user ids are ids, never e-mail addresses (events are immutable)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ruswf.app.settings import Settings
from ruswf.app.store.tokens import TokenStore
from ruswf.domain.errors import ValidationError
from ruswf.domain.strategy import Strategy

RUSWF = str(Path(sys.executable).with_name("ruswf"))


def test_token_for_an_email_address_user_id_is_refused(
    settings: Settings, strategy: Strategy
) -> None:
    store = TokenStore(settings, strategy)
    try:
        with pytest.raises(ValidationError, match="@"):
            store.create("anna.andersson@example.se", "coordinator", "sundsvall")
        assert store.list() == []
    finally:
        store.close()


def test_token_create_cli_refuses_an_email_address_with_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "RUSWF_DATABASE_URL": f"sqlite:///{tmp_path / 'ruswf.db'}"}
    args = ["token", "create", "--user", "anna.andersson@example.se"]
    args += ["--role", "coordinator", "--org", "sundsvall"]
    done = subprocess.run(
        [RUSWF, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("ruswf: error: ")
    assert "@" in lines[0]
    assert "ruswf_" not in done.stdout
