"""Mounting the console on the API's application: its pages, its static files, and a "not
found" page for every other address under /console/."""

from pathlib import Path

from fastapi import APIRouter, FastAPI, Response
from fastapi.staticfiles import StaticFiles

from provisio.console.pages import events, recipes, settings, signing
from provisio.console.routing import ConsoleRoute
from provisio.console.sessions import SessionDep
from provisio.domain.errors import NotFound

PAGES = (signing, recipes, events, settings)

_unknown = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)


@_unknown.api_route("/{path:path}", methods=["GET", "POST"])
async def unknown_page(path: str, _: SessionDep) -> Response:
    """Signed out: the sign-in page (via the session dependency); signed in: not found."""
    raise NotFound(f"no console page {path}")


def install(app: FastAPI) -> None:
    app.mount(
        "/console/static",
        StaticFiles(directory=Path(__file__).parent / "static"),
        name="console-static",
    )
    for module in PAGES:
        app.include_router(module.router)
    app.include_router(_unknown)
