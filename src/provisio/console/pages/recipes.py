"""Recipes: the organization's provisioning recipes."""

from fastapi import APIRouter, Request, Response

from provisio.api.deps import StoreDep
from provisio.console.routing import ConsoleRoute
from provisio.console.sessions import SessionDep
from provisio.console.templating import render
from provisio.service import recipes as use_cases

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)

PAGE_SIZE = 50


@router.get("/recipes")
async def recipes_page(request: Request, store: StoreDep, session: SessionDep) -> Response:
    rows = await use_cases.list_recipes(
        store, session.principal, use_cases.RecipeQuery(), 0, PAGE_SIZE
    )
    return render(
        request,
        "recipes.html",
        session,
        title="Recipes",
        section="recipes",
        recipes=[recipe for _, recipe in rows],
    )
