"""The floor under `http_shape[...]`: the least an HTTP command can cost on ruswf's fixed
stack (uvicorn, FastAPI, pydantic, psycopg 3) with no ruswf code at all.

Each request is what every ruswf command has to do at the very least: a bearer token
looked up in PostgreSQL on an asyncio pool, a JSON body validated by a pydantic model, and
one transaction that SELECTs the aggregate's last row and INSERTs the next, as the raw
psycopg baseline does. No event store, idempotency, authorisation, read models,
ledger, logging or middleware. `bench/shapes.py` serves it with uvicorn's workers on
the same store and in the same run as the deployment shapes, so its ratio against raw
psycopg with 8 threads says what the target leaves for ruswf itself on this machine.

    BENCH_FLOOR_CONNINFO=... BENCH_FLOOR_TABLE=schema.table uvicorn bench.floor_app:app
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI, Header, HTTPException, Path
from fastapi.responses import JSONResponse
from psycopg import sql
from psycopg_pool import AsyncConnectionPool
from pydantic import BaseModel, ConfigDict

TABLE = sql.Identifier(*os.environ.get("BENCH_FLOOR_TABLE", "public.floor_events").split("."))
POOL = AsyncConnectionPool(
    os.environ.get("BENCH_FLOOR_CONNINFO", ""), min_size=4, max_size=8, open=False
)
SELECT_TOKEN = "SELECT 1 AS known WHERE %s::text LIKE 'Bearer %%'"
SELECT_LAST = sql.SQL(
    "SELECT originator_version, state FROM {} WHERE originator_id = %s"
    " ORDER BY originator_version DESC LIMIT 1"
).format(TABLE)
INSERT_ROW = sql.SQL(
    "INSERT INTO {} (originator_id, originator_version, topic, state) VALUES (%s, %s, %s, %s)"
).format(TABLE)


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    await POOL.open()
    yield
    await POOL.close()


app = FastAPI(lifespan=lifespan)


class Revise(BaseModel):
    model_config = ConfigDict(extra="forbid")
    summary: str | None = None


async def caller(authorization: Annotated[str | None, Header()] = None) -> str:
    """The token check: one query on the asyncio pool, as `current_user` does."""
    async with POOL.connection() as conn:
        found = await (await conn.execute(SELECT_TOKEN, (authorization,))).fetchone()
    if found is None:
        raise HTTPException(401)
    return "bench"


@app.post("/api/v1/initiatives/{initiative_id}/actions/revise")
async def revise(
    initiative_id: Annotated[str, Path(max_length=100)],
    user: Annotated[str, Depends(caller)],
    body: Revise | None = None,
    if_match: Annotated[str | None, Header(alias="If-Match")] = None,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> JSONResponse:
    """SELECT the aggregate's last row and INSERT the next, in one transaction."""
    aggregate = uuid.uuid5(uuid.NAMESPACE_URL, initiative_id)
    state = ((body.summary if body else None) or "").encode()
    async with POOL.connection() as conn, conn.transaction():
        last = await (await conn.execute(SELECT_LAST, (aggregate,))).fetchone()
        version = (last[0] if last else 0) + 1
        await conn.execute(INSERT_ROW, (aggregate, version, "bench:Revised", state))
    return JSONResponse({"id": initiative_id, "version": version, "by": user})
