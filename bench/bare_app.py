"""The references of the API-write rows: a minimal FastAPI app, served by uvicorn like provisio.

`PUT /update/{uid}` runs the recipe update's transaction (lock and read the row, write it,
append its event, commit) through the bare driver, with no authentication, no domain model and
no SQLAlchemy; `PUT /noop/{uid}` parses the same body and answers at once: the HTTP floor.

Run as `python -m bench.bare_app PORT DATABASE_URL ORGANIZATION_UID COMPANY_UID ACCOUNT_ID`.
"""

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field

from bench.engines import PostgresRaw, RawConnection, RawPool, SqliteRaw
from bench.scenarios import Owner, raw_update

CONNECTIONS = 16
"""Pooled PostgreSQL connections, one per client of the load; SQLite has one writer."""


class Update(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    device_name: str = Field(alias="deviceName", max_length=255)


async def _connect(url: str) -> RawConnection:
    if url.startswith("sqlite"):
        return await SqliteRaw.connect(Path(url.split("///", 1)[1]))
    return await PostgresRaw.connect(url)


def create(url: str, owner: Owner) -> FastAPI:
    size = 1 if url.startswith("sqlite") else CONNECTIONS

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = RawPool([await _connect(url) for _ in range(size)])
        app.state.pool = pool
        try:
            yield
        finally:
            await pool.close()

    app = FastAPI(lifespan=lifespan)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.put("/update/{uid}")
    async def update(uid: str, body: Update) -> dict[str, Any]:
        pool: RawPool = app.state.pool
        async with pool.connection() as conn:
            await raw_update(conn, owner, uid, body.device_name)
        return {"uid": uid, "deviceName": body.device_name}

    @app.put("/noop/{uid}")
    async def noop(uid: str, body: Update) -> dict[str, Any]:
        return {"uid": uid, "deviceName": body.device_name}

    return app


def main() -> None:
    port, url, organization_uid, company_uid, account_id = sys.argv[1:6]
    app = create(url, Owner(organization_uid, company_uid, int(account_id)))
    uvicorn.run(app, host="127.0.0.1", port=int(port), log_level="warning")


if __name__ == "__main__":
    main()
