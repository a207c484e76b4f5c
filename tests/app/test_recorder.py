"""The PostgreSQL insert path: one round trip, no NOTIFY (whose commit lock serialises writers)."""

from __future__ import annotations

import psycopg
import pytest

from ruswf.app.service import RusApp
from ruswf.app.settings import Settings
from ruswf.app.store.recorders import PollingPostgresRecorder
from ruswf.domain.strategy import Strategy
from tests.conftest import postgres_schema_url


@pytest.mark.postgres
def test_postgres_store_inserts_through_a_function_without_notify(strategy: Strategy) -> None:
    with postgres_schema_url() as url:
        app = RusApp(strategy, Settings(database_url=url, log_format="json"))
        try:
            assert isinstance(app.recorder, PollingPostgresRecorder)
            schema = app.settings.postgres_params()["schema"]
            with psycopg.connect(app.settings.postgres_conninfo()) as conn:
                row = conn.execute(
                    "SELECT pg_get_functiondef(p.oid) FROM pg_proc p"
                    " JOIN pg_namespace n ON n.oid = p.pronamespace"
                    " WHERE n.nspname = %s AND p.proname = 'es_insert_events_uuid'",
                    (schema,),
                ).fetchone()
        finally:
            app.close()
    assert row is not None
    assert "INSERT INTO" in row[0]
    assert "NOTIFY" not in row[0].upper()
