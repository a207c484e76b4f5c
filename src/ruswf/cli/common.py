"""What every `ruswf` command shares: one-line errors and the services on the
configured store."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import typer

from ruswf.app.errors import AppError
from ruswf.app.logging import configure_logging
from ruswf.app.settings import Settings, SettingsError
from ruswf.app.store.faults import is_store_error, store_error_message
from ruswf.bootstrap import Services
from ruswf.domain.errors import DomainError


def command_group(help_text: str, name: str | None = None) -> typer.Typer:
    """A `ruswf` command group: help when called without a command, no completion or
    pretty tracebacks (an error is one line, see `fail`)."""
    return typer.Typer(
        name=name,
        help=help_text,
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )


def fail(message: str, code: int = 1) -> NoReturn:
    """One line on stderr and a non-zero exit."""
    typer.echo(f"ruswf: error: {message.splitlines()[0] if message else 'failed'}", err=True)
    raise typer.Exit(code)


@contextmanager
def services() -> Iterator[Services]:
    """The services on the configured store, built once for this command (the
    composition root). Configuration, domain and store errors end the command with one
    line; anything else is a bug and keeps its traceback."""
    try:
        settings = Settings()
        configure_logging(settings.log_format, settings.log_level)
        built = Services(settings)
    except (DomainError, SettingsError, ValueError) as error:
        fail(str(error) or type(error).__name__)
    except Exception as error:  # the store's drivers raise many kinds
        fail(f"cannot open the store: {type(error).__name__}: {error}")
    try:
        yield built
    except (DomainError, AppError, LookupError) as error:
        fail(str(error).strip("'\""))
    except Exception as error:
        if not is_store_error(error):
            raise
        fail(store_error_message(error))
    finally:
        built.close()
