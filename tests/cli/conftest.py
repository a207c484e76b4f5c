"""Fixtures of the CLI tests: the `ruswf` executable and a second fresh store."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import psycopg
import pytest
from psycopg import sql

PG_URL = os.environ.get("RUSWF_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def ruswf() -> str:
    """The installed `ruswf` command of this interpreter's environment."""
    beside_python = Path(sys.executable).parent / "ruswf"
    found = str(beside_python) if beside_python.exists() else shutil.which("ruswf")
    assert found, "the ruswf command is not installed (pip install -e .)"
    return found


@pytest.fixture
def other_database_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """A second fresh store of the same kind as `database_url`."""
    if database_url.startswith("sqlite"):
        (tmp_path / "other").mkdir()
        yield f"sqlite:///{tmp_path / 'other' / 'ruswf.db'}"
        return
    schema = f"t_{uuid4().hex[:16]}"
    with psycopg.connect(PG_URL, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        yield f"{PG_URL}?schema={schema}"
    finally:
        with psycopg.connect(PG_URL, autocommit=True, connect_timeout=5) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
