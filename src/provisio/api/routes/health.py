"""Liveness, readiness and Prometheus metrics."""

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from sqlalchemy import text

from provisio.api.deps import StoreDep
from provisio.api.json_limits import JsonRoute

router = APIRouter(tags=["operations"], route_class=JsonRoute)


class Health(BaseModel):
    status: str


@router.get("/healthz")
async def healthz() -> Health:
    return Health(status="ok")


@router.get("/readyz", responses={503: {"model": Health, "description": "Database unreachable"}})
async def readyz(store: StoreDep, response: Response) -> Health:
    try:
        async with store.reader() as uow:
            await uow.conn.execute(text("SELECT 1"))
    except Exception:
        response.status_code = 503
        return Health(status="database unreachable")
    return Health(status="ok")


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
