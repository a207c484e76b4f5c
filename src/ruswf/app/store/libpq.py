"""eventsourcing's PostgreSQL factory, with every libpq parameter of `RUSWF_DATABASE_URL`.

The library builds its connection pool from `POSTGRES_DBNAME`, `_HOST`, `_PORT`, `_USER`
and `_PASSWORD` only, so `?sslmode=verify-full&sslrootcert=...` would never reach the
event store's connections. This factory adds the URL's other libpq parameters
(`POSTGRES_LIBPQ_OPTIONS`, a connection string made by `Settings.eventsourcing_env`) to
the pool's connection arguments before the pool opens: the event store then connects
exactly as every other connection of ruswf does.
"""

from __future__ import annotations

from eventsourcing.postgres import PostgresFactory
from eventsourcing.utils import Environment
from psycopg.conninfo import conninfo_to_dict

POSTGRES_LIBPQ_OPTIONS = "POSTGRES_LIBPQ_OPTIONS"


class LibpqPostgresFactory(PostgresFactory):
    """`PostgresFactory` whose pool connects with the URL's libpq parameters too."""

    def __init__(self, env: Environment) -> None:
        super().__init__(env)
        options = self.env.get(POSTGRES_LIBPQ_OPTIONS) or ""
        if options:
            kwargs = self.datastore.pool.kwargs
            # The library passes a dict (psycopg_pool also allows a callable).
            assert isinstance(kwargs, dict), type(kwargs)
            kwargs.update(conninfo_to_dict(options))
