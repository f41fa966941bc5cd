"""Recipes: the organization's provisioning recipes and their rollout, and each recipe's page
(its fields, edit form, Retry, Delete and history)."""

import hashlib
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import RedirectResponse
from markupsafe import Markup
from starlette.datastructures import FormData

from provisio.api.deps import SettingsDep, StoreDep
from provisio.api.paths import UID
from provisio.api.schemas import RecipeUpdate, StorableStr
from provisio.console import forms
from provisio.console.routing import ConsoleRoute
from provisio.console.sessions import CheckedSessionDep, SessionDep
from provisio.console.templating import render, templates
from provisio.domain.errors import Conflict, InvalidInput, NotFound
from provisio.domain.recipe import MAX_TEXT, SPEC_FIELDS, Recipe
from provisio.domain.registry import RegistryKind
from provisio.domain.status import RecipeStatus
from provisio.service import recipe_views as views
from provisio.service import recipes as use_cases
from provisio.service import registries
from provisio.service.console_sessions import ConsoleSession
from provisio.service.tenancy import Principal
from provisio.store.recipes import Window
from provisio.store.unit_of_work import Store

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)

PAGE_SIZE = 50
MAX_CURSOR = 2**63 - 1
"""Row ids are 64-bit: a larger cursor names no row (and must not reach the database)."""
REGISTRY_OPTIONS = 1000
"""Tags, policies and locations the edit form offers (the first ones made)."""

TEXT_FIELDS = ("brand", "model", "serialNumber", "macAddress", "deviceName")
CHOICE_FIELDS = ("policyUid", "locationUid")
FORM_FIELDS = frozenset(SPEC_FIELDS)
"""The edit form's fields: every field a client may set, by wire name."""
WAS = "was."
"""Prefix of the hidden fields holding the values the form was shown with: a field still
holding that value is not sent, so a save changes only what the operator changed (and keeps
what someone else changed meanwhile)."""

FIELD_LABELS = {
    "brand": "Brand",
    "model": "Model",
    "serialNumber": "Serial number",
    "macAddress": "MAC address",
    "deviceName": "Device name",
    "tagUids": "Tags",
    "policyUid": "Policy",
    "locationUid": "Location",
    "confirmedOwnership": "Confirmed ownership",
    "status": "Status",
    "errorMessage": "Message",
    "warningMessage": "Warning",
}
"""How the page names a recipe's fields (its edit form's labels), by wire name."""

NOTICES = {
    "saved": "Saved.",
    "unchanged": "Nothing was changed.",
    "retried": "The recipe is Pending again: the device's next registration tries it.",
    "deleted": "The recipe was deleted.",
}

STOP_POLLING = 286
"""The status by which htmx's polling ends (htmx's own convention)."""

NoticeQuery = Annotated[str | None, Query(max_length=20)]
SeenQuery = Annotated[str | None, Query(max_length=64)]
"""The version of a live part the page shows."""


# The list ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListQuery:
    """The list's filter, search and page, as the page's address carries them."""

    status: RecipeStatus | None
    q: str | None
    before: int | None
    after: int | None

    def window(self) -> Window:
        if self.before is not None:
            return Window(older_than=self.before)
        return Window(newer_than=self.after)

    def cursor(self) -> dict[str, int]:
        """The page's cursor as query parameters (`before` wins over `after`)."""
        if self.before is not None:
            return {"before": self.before}
        return {} if self.after is None else {"after": self.after}


def _list_query(
    status: Annotated[RecipeStatus | None, Query()] = None,
    q: Annotated[StorableStr | None, Query(max_length=MAX_TEXT)] = None,
    before: Annotated[int | None, Query(ge=0, le=MAX_CURSOR)] = None,
    after: Annotated[int | None, Query(ge=0, le=MAX_CURSOR)] = None,
) -> ListQuery:
    return ListQuery(status, q, before, after)


ListQueryDep = Annotated[ListQuery, Depends(_list_query)]


async def _live_part(store: Store, principal: Principal, query: ListQuery) -> dict[str, Any]:
    """What the list's live part shows, rendered, with its version (a digest of it) and the
    address it is polled from (the same filter, search and page)."""
    where = views.recipe_filter(query.status, query.q)
    found = await views.overview(store, principal, where, query.window(), PAGE_SIZE)
    state = {
        name: value
        for name, value in (("status", query.status), ("q", query.q or None))
        if value is not None
    }
    context = {
        "overview": found,
        "statuses": tuple(RecipeStatus),
        "status": query.status,
        "link": lambda **changes: _list_url({**state, **changes}),
        "percent": found.applied * 100 // found.total if found.total else 0,
    }
    inner = _rendered("recipes_rows.html", **context)
    return {
        "inner": inner,
        "version": _digest(inner),
        "poll": "/console/recipes/live?" + urlencode({**state, **query.cursor()}),
        "status": query.status,
        "q": query.q or "",
    }


def _digest(html: str) -> str:
    return hashlib.sha256(html.encode()).hexdigest()[:32]


def _list_url(parameters: dict[str, Any]) -> str:
    present = {name: value for name, value in parameters.items() if value is not None}
    return "/console/recipes" + (f"?{urlencode(present)}" if present else "")


@router.get("/recipes")
async def recipes_page(
    request: Request,
    store: StoreDep,
    session: SessionDep,
    query: ListQueryDep,
    done: NoticeQuery = None,
) -> Response:
    live = await _live_part(store, session.principal, query)
    return render(
        request,
        "recipes.html",
        session,
        title="Recipes",
        section="recipes",
        notice=NOTICES.get(done or ""),
        **live,
    )


@router.get("/recipes/live")
async def recipes_live(
    request: Request,
    store: StoreDep,
    session: SessionDep,
    query: ListQueryDep,
    seen: SeenQuery = None,
) -> Response:
    """The list's live part (counts, progress, rows, paging), polled every second by the
    page; 204 (htmx swaps nothing) while it reads as it did at the version the page has."""
    live = await _live_part(store, session.principal, query)
    if seen == live["version"]:
        return Response(status_code=204)
    return render(request, "recipes_live.html", session, **live)


# One recipe ----------------------------------------------------------------------------------


async def _options(store: Store, principal: Principal) -> dict[str, list[tuple[str, str]]]:
    """The organization's tags, policies (not archived) and locations, as (uid, name)."""
    tags = await registries.list_entries(
        store, principal, RegistryKind.TAG, None, 0, REGISTRY_OPTIONS
    )
    policies = await registries.list_policies(
        store, principal, None, 0, REGISTRY_OPTIONS, archived=False
    )
    locations = await registries.list_entries(
        store, principal, RegistryKind.LOCATION, None, 0, REGISTRY_OPTIONS
    )
    return {
        "tagUids": [(entry.uid, entry.spec.name) for _, entry in tags],
        "policyUid": [(entry.uid, entry.spec.name) for _, entry in policies],
        "locationUid": [(entry.uid, entry.spec.name) for _, entry in locations],
    }


def _values(recipe: Recipe) -> dict[str, Any]:
    """The form's values for the recipe as stored, by field name."""
    spec = recipe.spec
    return {
        "brand": spec.brand,
        "model": spec.model,
        "serialNumber": spec.serial_number,
        "macAddress": spec.mac_address,
        "deviceName": spec.device_name,
        "tagUids": list(spec.tag_uids),
        "policyUid": spec.policy_uid,
        "locationUid": spec.location_uid,
        "confirmedOwnership": spec.confirmed_ownership,
    }


def _submitted(form: FormData) -> tuple[dict[str, Any], dict[str, Any]]:
    """The values the form was shown with and those it was sent with, by field name."""
    shown: dict[str, Any] = {
        name: forms.text(form, WAS + name) for name in (*TEXT_FIELDS, *CHOICE_FIELDS)
    }
    shown["tagUids"] = [tag for tag in (forms.text(form, WAS + "tagUids") or "").split(",") if tag]
    shown["confirmedOwnership"] = forms.text(form, WAS + "confirmedOwnership") == "true"
    sent: dict[str, Any] = {name: forms.text(form, name) for name in (*TEXT_FIELDS, *CHOICE_FIELDS)}
    sent["tagUids"] = forms.texts(form, "tagUids")
    sent["confirmedOwnership"] = forms.checked(form, "confirmedOwnership")
    return shown, sent


def _changes(shown: dict[str, Any], sent: dict[str, Any]) -> dict[str, Any]:
    """The update body: only the fields whose value the operator changed; an emptied field is
    sent as null (cleared)."""
    body: dict[str, Any] = {}
    for name, value in sent.items():
        if name == "tagUids":
            if set(value) != set(shown[name]):
                body[name] = value or None
        elif value != shown[name]:
            body[name] = value
    return body


async def _recipe_parts(store: Store, session: ConsoleSession, uid: str) -> dict[str, Any]:
    """The recipe, its history and the organization's tags, policies and locations, with the
    page's live parts rendered (fields and history) and their version (a digest of them)."""
    found = await views.recipe_history(store, session.principal, uid)
    options = await _options(store, session.principal)
    context: dict[str, Any] = {
        "recipe": found.recipe,
        "history": found,
        "current": _values(found.recipe),
        "names": {entry: name for choices in options.values() for entry, name in choices},
        "labels": FIELD_LABELS,
    }
    fields_html = _rendered("recipe_fields.html", session=session, **context)
    history_html = _rendered("recipe_history.html", **context)
    return {
        **context,
        "options": options,
        "fields_html": fields_html,
        "history_html": history_html,
        "version": _digest(fields_html + history_html),
    }


def _rendered(name: str, **context: Any) -> Markup:
    """A partial template rendered on its own, to be placed in a page or hashed."""
    return Markup(templates.get_template(name).render(context))


async def _recipe_page(
    request: Request,
    store: Store,
    session: ConsoleSession,
    uid: str,
    *,
    status_code: int = 200,
    notice: str | None = None,
    errors: forms.FieldErrors | None = None,
    form: tuple[dict[str, Any], dict[str, Any]] | None = None,
) -> Response:
    """The recipe page; after a refused save, with the operator's values and the messages."""
    parts = await _recipe_parts(store, session, uid)
    recipe: Recipe = parts["recipe"]
    shown, values = form if form is not None else (parts["current"], parts["current"])
    options = parts["options"]
    for field in ("tagUids", "policyUid", "locationUid"):  # keep what no longer exists
        chosen = values[field] if field == "tagUids" else [values[field]]
        options[field] += [
            (entry, f"{entry} (not found)")
            for entry in chosen
            if entry and entry not in parts["names"]
        ]
    return render(
        request,
        "recipe.html",
        session,
        status_code=status_code,
        title=f"Recipe {_identity(recipe)}",
        section="recipes",
        shown=shown,
        values=values,
        errors=errors or {},
        notice=notice,
        was=WAS,
        **parts,
    )


def _identity(recipe: Recipe) -> str:
    """How people tell a recipe: its brand and device identifiers."""
    spec = recipe.spec
    return " ".join(part for part in (spec.brand, spec.serial_number, spec.mac_address) if part)


@router.get("/recipes" + UID)
async def recipe_page(
    request: Request, store: StoreDep, session: SessionDep, uid: str, done: NoticeQuery = None
) -> Response:
    return await _recipe_page(request, store, session, uid, notice=NOTICES.get(done or ""))


@router.get("/recipes" + UID + "/live")
async def recipe_live(
    request: Request,
    store: StoreDep,
    session: SessionDep,
    uid: str,
    seen: SeenQuery = None,
) -> Response:
    """The recipe page's history, polled every second, with its fields out of band; 204 (htmx
    swaps nothing) while both read as they did at the version the page has. Once the recipe
    is gone (deleted elsewhere), 286: htmx stops polling and the page keeps what it shows."""
    try:
        parts = await _recipe_parts(store, session, uid)
    except NotFound:
        return Response(status_code=STOP_POLLING)
    if seen == parts["version"]:
        return Response(status_code=204)
    return render(request, "recipe_live.html", session, oob=True, **parts)


@router.post("/recipes" + UID)
async def save_recipe(
    request: Request,
    store: StoreDep,
    settings: SettingsDep,
    session: CheckedSessionDep,
    uid: str,
) -> Response:
    """Partial update through the API's model and use case; refused: the form again, with
    the operator's values and the API's messages next to the fields."""
    shown, sent = _submitted(await request.form())
    body = _changes(shown, sent)
    if not body:
        await use_cases.get_recipe(store, session.principal, uid)  # not found stays not found
        return RedirectResponse(f"/console/recipes/{uid}?done=unchanged", status_code=303)
    try:
        update = forms.validated(RecipeUpdate, body)
        await use_cases.update_recipe(store, session.principal, uid, update.sent(), settings.rules)
    except (InvalidInput, Conflict) as error:
        return await _recipe_page(
            request,
            store,
            session,
            uid,
            status_code=422 if isinstance(error, InvalidInput) else 409,
            errors=forms.field_errors(error, FORM_FIELDS),
            form=(shown, sent),
        )
    return RedirectResponse(f"/console/recipes/{uid}?done=saved", status_code=303)


@router.post("/recipes" + UID + "/retry")
async def retry_recipe(store: StoreDep, session: CheckedSessionDep, uid: str) -> Response:
    await use_cases.retry_recipe(store, session.principal, uid)
    return RedirectResponse(f"/console/recipes/{uid}?done=retried", status_code=303)


@router.get("/recipes" + UID + "/delete")
async def delete_confirmation(
    request: Request, store: StoreDep, session: SessionDep, uid: str
) -> Response:
    """The step that makes a delete deliberate: what will go, and one more button."""
    recipe = await use_cases.get_recipe(store, session.principal, uid)
    return render(
        request,
        "recipe_delete.html",
        session,
        title=f"Delete recipe {_identity(recipe)}?",
        section="recipes",
        recipe=recipe,
    )


@router.post("/recipes" + UID + "/delete")
async def delete_recipe(store: StoreDep, session: CheckedSessionDep, uid: str) -> Response:
    await use_cases.delete_recipe(store, session.principal, uid)
    return RedirectResponse("/console/recipes?done=deleted", status_code=303)
