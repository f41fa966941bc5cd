"""`/v1/provisioning-recipe`: create, list, get, partial update, delete, retry, bulk."""

from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Request, Response, status

from provisio.api.bulk_input import BULK_OPENAPI, bulk_rows
from provisio.api.deps import PrincipalDep, SettingsDep, StoreDep
from provisio.api.json_limits import JsonRoute
from provisio.api.pagination import OrganizationQuery, PagingDep
from provisio.api.paths import UID
from provisio.api.schemas import (
    MAC_RE,
    BulkFailure,
    BulkOut,
    RecipeCreate,
    RecipeOut,
    RecipeUpdate,
    StorableStr,
)
from provisio.api.upload import spool
from provisio.domain.recipe import Recipe
from provisio.domain.status import RecipeStatus
from provisio.service import bulk_import
from provisio.service import recipes as use_cases

router = APIRouter(
    prefix="/v1/provisioning-recipe", tags=["provisioning recipes"], route_class=JsonRoute
)


def _answer(response: Response, recipe: Recipe) -> RecipeOut:
    response.headers["ETag"] = recipe.etag
    return RecipeOut.of(recipe)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model_exclude_none=True,
)
async def create_recipe(
    body: RecipeCreate,
    response: Response,
    store: StoreDep,
    settings: SettingsDep,
    principal: PrincipalDep,
) -> RecipeOut:
    recipe = await use_cases.create_recipe(store, principal, body.sent(), settings.rules)
    response.headers["Location"] = f"{router.prefix}/{recipe.uid}"
    return _answer(response, recipe)


@router.get("", response_model_exclude_none=True)
async def list_recipes(
    paging: PagingDep,
    store: StoreDep,
    principal: PrincipalDep,
    status_: Annotated[RecipeStatus | None, Query(alias="status")] = None,
    brand: Annotated[StorableStr | None, Query(max_length=255)] = None,
    serial_number: Annotated[
        StorableStr | None, Query(alias="serialNumber", max_length=255)
    ] = None,
    mac_address: Annotated[str | None, Query(alias="macAddress", pattern=MAC_RE)] = None,
    organization_uid: OrganizationQuery = None,
) -> list[RecipeOut]:
    query = use_cases.RecipeQuery(organization_uid, status_, brand, serial_number, mac_address)
    rows = await use_cases.list_recipes(store, principal, query, paging.after, paging.fetch)
    return [RecipeOut.of(recipe) for recipe in paging.page(rows)]


@router.get(UID, response_model_exclude_none=True)
async def get_recipe(
    uid: str, response: Response, store: StoreDep, principal: PrincipalDep
) -> RecipeOut:
    return _answer(response, await use_cases.get_recipe(store, principal, uid))


@router.put(UID, response_model_exclude_none=True)
async def update_recipe(
    uid: str,
    body: RecipeUpdate,
    response: Response,
    store: StoreDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    if_match: Annotated[str | None, Header(alias="If-Match")] = None,
) -> RecipeOut:
    recipe = await use_cases.update_recipe(
        store, principal, uid, body.sent(), settings.rules, if_match
    )
    return _answer(response, recipe)


@router.delete(UID, status_code=status.HTTP_204_NO_CONTENT)
async def delete_recipe(uid: str, store: StoreDep, principal: PrincipalDep) -> None:
    await use_cases.delete_recipe(store, principal, uid)


@router.post(f"{UID}/retry", response_model_exclude_none=True)
async def retry_recipe(
    uid: str, response: Response, store: StoreDep, principal: PrincipalDep
) -> RecipeOut:
    return _answer(response, await use_cases.retry_recipe(store, principal, uid))


@router.post("/bulk", openapi_extra=BULK_OPENAPI)
async def bulk_create(
    request: Request,
    store: StoreDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    mode: Literal["atomic", "partial"] = "atomic",
    organization_uid: OrganizationQuery = None,
) -> BulkOut:
    """JSON array or CSV, received whole before it is read. `atomic`: any bad row → 422,
    nothing stored; `partial`: the good rows are stored and the bad ones listed."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    with await spool(request) as upload:
        result = await bulk_import.bulk_create(
            store,
            principal,
            bulk_rows(upload, media, organization_uid),
            settings.rules,
            atomic=mode == "atomic",
        )
    return BulkOut(
        created=result.created,
        uids=result.uids,
        failed=[
            BulkFailure(row=p.row or 0, field=p.field, message=p.message) for p in result.failed
        ],
        failed_count=result.failed_count,
    )
