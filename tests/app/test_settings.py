"""`Settings`: one object reads `RUSWF_*` and produces the eventsourcing environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from ruswf.app.settings import Settings, SettingsError


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite:///tmp/ruswf/store.db", "/tmp/ruswf/store.db"),
        ("sqlite:////tmp/ruswf/store.db", "/tmp/ruswf/store.db"),
        ("sqlite:///tmp/r%C3%A4tt/store.db", "/tmp/rätt/store.db"),
    ],
)
def test_sqlite_url_names_the_database_file(url: str, path: str) -> None:
    settings = Settings(database_url=url)
    assert settings.backend == "sqlite"
    assert settings.sqlite_path() == Path(path)


def test_sqlite_environment_selects_the_sqlite_module(tmp_path: Path) -> None:
    env = Settings(database_url=f"sqlite:///{tmp_path}/sub/ruswf.db").eventsourcing_env()
    assert env["PERSISTENCE_MODULE"] == "eventsourcing.sqlite"
    assert Path(env["SQLITE_DBNAME"]) == tmp_path / "sub" / "ruswf.db"
    assert (tmp_path / "sub").is_dir()


def test_postgres_url_gives_connection_parameters_and_schema() -> None:
    settings = Settings(database_url="postgresql://ruswf:s%40lt@db.example:6543/rus?schema=t_1")
    assert settings.backend == "postgres"
    assert settings.postgres_params() == {
        "dbname": "rus",
        "host": "db.example",
        "port": "6543",
        "user": "ruswf",
        "password": "s@lt",
        "schema": "t_1",
    }
    env = settings.eventsourcing_env()
    assert env["PERSISTENCE_MODULE"] == "ruswf.app.store.libpq:LibpqPostgresFactory"
    assert (env["POSTGRES_DBNAME"], env["POSTGRES_SCHEMA"]) == ("rus", "t_1")


def test_postgres_url_defaults_host_port_and_user() -> None:
    params = Settings(database_url="postgres:///rus").postgres_params()
    assert (params["host"], params["port"], params["user"]) == ("127.0.0.1", "5432", "postgres")


@pytest.mark.parametrize(
    "url", ["mysql://u@h/db", "postgresql://u@h:5432/", "sqlite://", "sqlite:///"]
)
def test_unusable_database_url_is_a_settings_error(url: str) -> None:
    with pytest.raises(SettingsError, match="RUSWF_DATABASE_URL"):
        Settings(database_url=url).eventsourcing_env()


def test_settings_read_ruswf_environment_variables(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("RUSWF_DATABASE_URL", f"sqlite:///{tmp_path}/env.db")
    monkeypatch.setenv("RUSWF_SNAPSHOT_INTERVAL", "20")
    settings = Settings()
    assert settings.sqlite_path() == tmp_path / "env.db"
    assert settings.snapshot_interval == 20
