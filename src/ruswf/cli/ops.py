"""`ruswf backup OUT` and `ruswf restore IN`: the whole store to one file and back
(`ruswf.app.store.backup` does it; docs/reliability.md). Both refuse to overwrite:
`backup` an existing file, `restore` a store that holds events, unless `--force`."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import psycopg
import typer

from ruswf.app.files import UnsafePathError, create_private, private_dir, refuse_link
from ruswf.app.settings import Settings, SettingsError
from ruswf.app.store.backup import BackupError, backup_store, restore_store
from ruswf.app.store.faults import is_store_error, store_error_message
from ruswf.cli.common import fail


@contextmanager
def _store_errors() -> Iterator[None]:
    """The store's errors, and a backup that cannot be done, end the command in one line."""
    try:
        yield
    except BackupError as error:
        fail(str(error))
    except (sqlite3.Error, psycopg.Error) as error:
        fail(store_error_message(error))
    except Exception as error:
        if not is_store_error(error):
            raise
        fail(store_error_message(error))


def _settings() -> Settings:
    try:
        settings = Settings()
        _ = settings.backend
    except (SettingsError, ValueError) as error:
        fail(str(error))
    return settings


def backup(
    out: Annotated[Path, typer.Argument(help="The backup file to write.", dir_okay=False)],
    force: Annotated[bool, typer.Option(help="Overwrite OUT if it exists.")] = False,
) -> None:
    """Copy the whole store (events, snapshots, tokens, projections) to one file."""
    settings = _settings()
    if out.exists() and not force:
        fail(f"{out} exists (use --force to overwrite it)")
    try:
        refuse_link(out)
        private_dir(out.parent)
        partial = out.with_name(f".{out.name}.partial")
        partial.unlink(missing_ok=True)
        create_private(partial)  # 0600: the backup holds the people registry and tokens
    except (UnsafePathError, OSError) as error:
        fail(str(error))
    with _store_errors():
        try:
            events = backup_store(settings, partial)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    partial.replace(out)
    typer.echo(f"backup of {settings.backend} store: {events} events written to {out}")


def restore(
    source: Annotated[
        Path,
        typer.Argument(
            metavar="IN", help="A file written by `ruswf backup`.", exists=True, dir_okay=False
        ),
    ],
    force: Annotated[
        bool, typer.Option(help="Replace a store that holds events (its contents are lost).")
    ] = False,
) -> None:
    """Restore the store from a backup file, then check it (stop ruswf first)."""
    settings = _settings()
    with _store_errors():
        events = restore_store(settings, source, force=force)
    typer.echo(
        f"restored {events} events into the {settings.backend} store; "
        "next: `ruswf audit verify`, then `ruswf projections rebuild`"
    )
