"""Register devices: one recipe by hand, many from a CSV file, and the CSV template.

Both go through the API's own request parsing and use cases: the manual form through
`RecipeCreate` and `create_recipe`, the upload through the CSV reader and the bulk import of
`POST /v1/provisioning-recipe/bulk` (the multipart parser has spooled the file before any
transaction starts).
"""

import csv
import io
from dataclasses import dataclass, field
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import RedirectResponse
from starlette.datastructures import FormData, UploadFile

from provisio.api.bulk_input import CSV_COLUMNS, bulk_rows
from provisio.api.deps import SettingsDep, StoreDep
from provisio.api.errors import status_of
from provisio.api.limits import CSV
from provisio.api.schemas import RecipeCreate
from provisio.console import forms
from provisio.console.registry_choices import registry_choices
from provisio.console.routing import ConsoleRoute, noticed
from provisio.console.sessions import CheckedSessionDep, SessionDep
from provisio.console.templating import render
from provisio.domain.brands import BrandRules, Requirement
from provisio.domain.errors import Conflict, FieldProblem, InvalidInput
from provisio.domain.recipe import Recipe
from provisio.service import bulk_import
from provisio.service import recipes as use_cases
from provisio.service.console_sessions import ConsoleSession
from provisio.settings import Settings
from provisio.store.unit_of_work import Store

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)

RECIPE_FIELDS = frozenset(CSV_COLUMNS)
"""The manual form's fields: a recipe's create fields, which are also the CSV's columns."""
FILE_FIELD = "file"
MODE_FIELD = "mode"
MODES = ("atomic", "partial")
TEMPLATE_NAME = "provisio-recipes.csv"
TEMPLATE_EXAMPLE = {
    "brand": "samsung",
    "model": "QM55R",
    "serialNumber": "SN-0001",
    "deviceName": "Lobby screen",
    "confirmedOwnership": "false",
}
"""The template's example row: a recipe the import accepts as it is."""


@dataclass(frozen=True)
class Identifiers:
    """Which identifiers the brand typed so far needs, for the form to mark them required."""

    brand: str | None
    serial_number: bool = False
    mac_address: bool = False

    @classmethod
    def of(cls, rules: BrandRules, brand: str | None) -> "Identifiers":
        need = rules.requirement(brand) if brand else None
        return cls(
            brand,
            serial_number=need is Requirement.SERIAL_NUMBER,
            mac_address=need is Requirement.MAC_ADDRESS,
        )

    @property
    def either(self) -> bool:
        """A brand the rules do not know: one of the two identifiers is enough."""
        return self.brand is not None and not (self.serial_number or self.mac_address)


@dataclass
class ImportOutcome:
    """What an upload did: the rows created, the refused rows listed (the first 1,000 by row
    number) and how many were refused in all; or why the file could not be read at all."""

    atomic: bool
    created: int = 0
    failed: list[FieldProblem] = field(default_factory=list)
    failed_count: int = 0
    unreadable: list[str] = field(default_factory=list)

    @property
    def listed_rows(self) -> int:
        return len({problem.row for problem in self.failed})


def _values(form: FormData | None = None) -> dict[str, Any]:
    """The manual form's values as the user typed them (empty on a fresh form)."""
    if form is None:
        return {"tagUids": [], "confirmedOwnership": False}
    values: dict[str, Any] = {name: forms.text(form, name) for name in RECIPE_FIELDS}
    values["tagUids"] = forms.texts(form, "tagUids")
    values["confirmedOwnership"] = forms.checked(form, "confirmedOwnership")
    return values


async def _page(
    request: Request,
    store: Store,
    session: ConsoleSession,
    settings: Settings,
    *,
    status_code: int = 200,
    values: dict[str, Any] | None = None,
    errors: forms.FieldErrors | None = None,
    created: Recipe | None = None,
    outcome: ImportOutcome | None = None,
    mode: str = "atomic",
) -> Response:
    values = values or _values()
    return render(
        request,
        "register.html",
        session,
        status_code=status_code,
        title="Register devices",
        section="register",
        brands=settings.rules.brands,
        columns=CSV_COLUMNS,
        identifiers=Identifiers.of(settings.rules, values.get("brand")),
        choices=await registry_choices(store, session.principal),
        values=values,
        errors=errors or {},
        created=created,
        outcome=outcome,
        mode=mode,
    )


@router.get("/register")
async def register_page(
    request: Request,
    store: StoreDep,
    settings: SettingsDep,
    session: SessionDep,
    created: str | None = None,
) -> Response:
    """The empty forms; after a recipe was saved (`created`), that recipe above them."""
    recipe = await noticed(partial(use_cases.get_recipe, store, session.principal), created)
    return await _page(request, store, session, settings, created=recipe)


@router.get("/register/identifiers")
async def identifier_fields(
    request: Request,
    settings: SettingsDep,
    session: SessionDep,
    brand: str | None = None,
    serial_number: Annotated[str | None, Query(alias="serialNumber")] = None,
    mac_address: Annotated[str | None, Query(alias="macAddress")] = None,
) -> Response:
    """The identifier fields for the brand being typed (htmx swaps them in), values kept."""
    return render(
        request,
        "register_identifiers.html",
        session,
        identifiers=Identifiers.of(settings.rules, brand.strip() if brand else None),
        values={"serialNumber": serial_number, "macAddress": mac_address},
        errors={},
    )


@router.post("/register")
async def save_recipe(
    request: Request, store: StoreDep, settings: SettingsDep, session: CheckedSessionDep
) -> Response:
    form = await request.form()
    values = _values(form)
    body = forms.present(**{**values, "tagUids": values["tagUids"] or None})
    try:
        sent = forms.validated(RecipeCreate, body).sent()
        recipe = await use_cases.create_recipe(store, session.principal, sent, settings.rules)
    except (InvalidInput, Conflict) as error:
        return await _page(
            request,
            store,
            session,
            settings,
            status_code=status_of(type(error)),
            values=values,
            errors=forms.field_errors(error, RECIPE_FIELDS),
        )
    return RedirectResponse(f"/console/register?created={recipe.uid}", status_code=303)


@router.post("/register/bulk")
async def import_csv(
    request: Request, store: StoreDep, settings: SettingsDep, session: CheckedSessionDep
) -> Response:
    """A CSV file of recipes, imported as `POST /v1/provisioning-recipe/bulk` imports it."""
    form = await request.form()
    mode = forms.text(form, MODE_FIELD) or "atomic"
    upload = form.get(FILE_FIELD)
    errors: forms.FieldErrors = {}
    if mode not in MODES:
        errors[MODE_FIELD] = ["choose Atomic or Partial"]
    if not isinstance(upload, UploadFile) or (not upload.filename and not upload.size):
        errors[FILE_FIELD] = ["choose a CSV file to import"]
    if errors or not isinstance(upload, UploadFile):
        return await _page(
            request, store, session, settings, status_code=422, errors=errors, mode=mode
        )
    outcome = await _import(store, session, settings, upload, atomic=mode == "atomic")
    refused = bool(outcome.unreadable) or (outcome.atomic and outcome.failed_count > 0)
    return await _page(
        request,
        store,
        session,
        settings,
        status_code=422 if refused else 200,
        outcome=outcome,
        mode=mode,
    )


async def _import(
    store: Store, session: ConsoleSession, settings: Settings, upload: UploadFile, *, atomic: bool
) -> ImportOutcome:
    upload.file.seek(0)
    try:
        result = await bulk_import.bulk_create(
            store,
            session.principal,
            bulk_rows(upload.file, CSV, None),
            settings.rules,
            atomic=atomic,
        )
    except bulk_import.ImportRefused as refused:
        return ImportOutcome(atomic, failed=refused.details, failed_count=refused.failed_count)
    except InvalidInput as unreadable:  # the file as a whole: no header, not text, not CSV
        return ImportOutcome(atomic, unreadable=[_unreadable(p) for p in unreadable.details])
    return ImportOutcome(atomic, result.created, result.failed, result.failed_count)


def _unreadable(problem: FieldProblem) -> str:
    where = f"row {problem.row}: " if problem.row else ""
    column = "" if problem.field in ("", "body", "header") else f"column {problem.field}: "
    return f"{where}{column}{problem.message}"


@router.get("/register/template.csv")
async def csv_template(_: SessionDep) -> Response:
    """A header row of every column the import reads, and one example row."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerow([TEMPLATE_EXAMPLE.get(column, "") for column in CSV_COLUMNS])
    return Response(
        text.getvalue(),
        media_type=f"{CSV}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{TEMPLATE_NAME}"'},
    )
