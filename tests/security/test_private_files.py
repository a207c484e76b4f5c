"""Finding 11: the database, backups and exports are readable by their owner only, and
writing an export or a backup never follows a symbolic link."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from tests.servers import RUSWF


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def ruswf(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [RUSWF, *args],
        env={**os.environ, "RUSWF_DATABASE_URL": database_url, "RUSWF_LOG_LEVEL": "warning"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'data' / 'ruswf.db'}"


def test_new_sqlite_store_is_readable_by_its_owner_only(sqlite_url: str, tmp_path: Path) -> None:
    done = ruswf(sqlite_url, "token", "create", "--user", "u1", "--role", "admin", "--org", "x")
    assert "unknown organisation" in done.stderr  # the store was opened all the same
    done = ruswf(sqlite_url, "audit", "export", "--out", str(tmp_path / "export"))
    assert done.returncode == 0, done.stderr
    files = sorted((tmp_path / "data").iterdir())
    assert files, "the store was not created"
    assert {f.name: mode(f) for f in files} == {f.name: 0o600 for f in files}
    assert mode(tmp_path / "data") == 0o700


def test_export_refuses_a_symlink_in_its_directory_and_leaves_the_target(
    sqlite_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "export"
    out.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    (out / "decisions.csv").symlink_to(victim)
    done = ruswf(sqlite_url, "audit", "export", "--out", str(out))
    assert done.returncode != 0
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "symbolic link" in done.stderr
    assert victim.read_text() == "keep me\n"


def test_export_files_are_readable_by_their_owner_only(sqlite_url: str, tmp_path: Path) -> None:
    out = tmp_path / "export"
    done = ruswf(sqlite_url, "audit", "export", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert mode(out) == 0o700
    assert {f.name: mode(f) for f in out.iterdir()} == {f.name: 0o600 for f in out.iterdir()}


def test_backup_is_readable_by_its_owner_only(database_url: str, tmp_path: Path) -> None:
    assert ruswf(database_url, "token", "list").returncode == 0
    target = tmp_path / "backups" / "ruswf.backup"
    done = ruswf(database_url, "backup", str(target))
    assert done.returncode == 0, done.stderr
    assert mode(target) == 0o600


def test_backup_refuses_a_symlink_at_its_target(sqlite_url: str, tmp_path: Path) -> None:
    assert ruswf(sqlite_url, "token", "list").returncode == 0
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    link = tmp_path / "ruswf.backup"
    link.symlink_to(victim)
    done = ruswf(sqlite_url, "backup", str(link), "--force")
    assert done.returncode != 0
    assert "symbolic link" in done.stderr
    assert victim.read_text() == "keep me\n"


def test_audit_output_files_are_owner_only_and_never_written_through_a_link(
    sqlite_url: str, tmp_path: Path
) -> None:
    """`--out` of `ruswf audit head` / `dossier` (a dossier names its contact person)."""
    head = tmp_path / "head.json"
    done = ruswf(sqlite_url, "audit", "head", "--out", str(head))
    assert done.returncode == 0, done.stderr
    assert mode(head) == 0o600
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    link = tmp_path / "linked.json"
    link.symlink_to(victim)
    refused = ruswf(sqlite_url, "audit", "head", "--out", str(link))
    assert refused.returncode != 0
    assert "symbolic link" in refused.stderr
    assert victim.read_text() == "keep me\n"


def test_restore_into_a_new_sqlite_store_is_owner_only(sqlite_url: str, tmp_path: Path) -> None:
    assert ruswf(sqlite_url, "token", "list").returncode == 0
    backup = tmp_path / "ruswf.backup"
    assert ruswf(sqlite_url, "backup", str(backup)).returncode == 0
    restored = tmp_path / "restored" / "ruswf.db"
    done = ruswf(f"sqlite:///{restored}", "restore", str(backup))
    assert done.returncode == 0, done.stderr
    assert {f.name: mode(f) for f in restored.parent.iterdir()} == {
        f.name: 0o600 for f in restored.parent.iterdir()
    }
