"""The PostgreSQL recorder ruswf uses: eventsourcing's, without NOTIFY.

ruswf's followers (projections, ledger) poll the notification log; nothing LISTENs. The
library's insert function sends a NOTIFY, and PostgreSQL takes a database-wide lock at
commit for every transaction that notified, so every writer's commit (and its WAL flush)
queued behind the others. Without it, concurrent commands commit in parallel and share
WAL flushes. Followers already treat a gap in notification ids as "maybe in flight" and
wait for it (projections/runtime.py), which is what keeps them exactly-once.
"""

from __future__ import annotations

from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

GAP_GRACE_SECONDS = 6.0
"""How long every follower of the notification log (projections, ledger, webhooks) takes
a gap in the ids for an insert that has not committed yet: longer than an insert can
wait for the events table's locks (`RUSWF_LOCK_TIMEOUT`, 5 s). An event after a fresh gap
is applied once it is this old; the gap is then known to be a gap."""


class PollingPostgresRecorder(PostgresApplicationRecorder):
    """Inserts events in one round trip (the library's database function) without NOTIFY."""

    def __init__(
        self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"
    ) -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        self.sql_create_statements[self.create_insert_function_statement_index] = SQL(
            "CREATE OR REPLACE FUNCTION "
            "{schema}.{insert_events}(events {schema}.{event}[]) "
            "RETURNS SETOF bigint "
            "LANGUAGE plpgsql "
            "AS "
            "$BODY$"
            "BEGIN"
            "    SET LOCAL lock_timeout = '{lock_timeout}s';"
            "    RETURN QUERY"
            "    INSERT INTO {schema}.{table} AS t ("
            "    originator_id, originator_version, topic, state)"
            "    SELECT originator_id, originator_version, topic, state"
            "    FROM unnest(events)"
            "    RETURNING notification_id;"
            "END;"
            "$BODY$"
        ).format(
            insert_events=Identifier(self.pg_function_name_insert_events),
            lock_timeout=self.datastore.lock_timeout,
            event=Identifier(self.stored_event_type_name),
            schema=Identifier(self.datastore.schema),
            table=Identifier(self.events_table_name),
        )

    def _notify_channel(self, curs: Cursor[DictRow]) -> None:
        """Nothing listens: see the module's docstring."""
