"""Settings: the organization's tags, policies and locations — what recipes and devices refer
to — listed, created, edited and deleted through the registry use cases, each form checked by
the API's own request model so that its messages appear next to the fields.

Every kind has the same pages: `/console/settings/<kind>` (the list), `…/new`, `…/{uid}` (the
edit form), `…/{uid}/delete` (the confirmation); policies also archive and unarchive.
"""

import json
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import RedirectResponse
from starlette.datastructures import FormData

from provisio.api.deps import StoreDep
from provisio.api.json_limits import InvalidJson, check_depth, loads
from provisio.api.pagination import After
from provisio.api.paths import UID
from provisio.api.registry_models import (
    LocationCreate,
    LocationUpdate,
    PolicyCreate,
    PolicyOut,
    PolicyUpdate,
    TagCreate,
    TagUpdate,
)
from provisio.api.schemas import RequestBody, TagList
from provisio.console.forms import FieldErrors, present, text, texts, validated
from provisio.console.routing import ConsoleRoute
from provisio.console.sessions import CheckedSessionDep, SessionDep
from provisio.console.templating import render
from provisio.domain.errors import Conflict, DomainError, FieldProblem, InvalidInput
from provisio.domain.registry import (
    Address,
    Changes,
    Coordinates,
    Entry,
    LocationSpec,
    PolicySpec,
    RegistryKind,
    TagSpec,
    distinct_tags,
    required_place,
)
from provisio.service import registries as use_cases
from provisio.service.console_sessions import ConsoleSession
from provisio.store.unit_of_work import Store

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)

SETTINGS = "/console/settings"
PAGE_SIZE = 100
TAG_CHOICES = 1000
"""Tags offered by the `Parent tag` and `Tags` selects (and named in the lists), in creation
order; an organization with more names the others by uid."""


Values = dict[str, Any]
"""What a form shows in its fields, by field name."""


# --- from forms to the API's request bodies -------------------------------------------------


def _raw(form: FormData, name: str) -> str | None:
    """The field as typed, empty included (a required field sent empty gets the API's message
    for an empty value); None when it is missing."""
    value = form.get(name)
    return value if isinstance(value, str) else None


def _optional(creating: bool, **values: Any) -> dict[str, Any]:
    """Optional fields: a create body leaves out those without a value; an update sends them
    as null, which clears them."""
    return present(**values) if creating else values


def _tag_body(form: FormData, creating: bool) -> dict[str, Any]:
    return {
        **present(name=_raw(form, "name")),
        **_optional(creating, color=text(form, "color"), parentTagUid=text(form, "parentTagUid")),
    }


def _items(form: FormData) -> Any:
    """The `Items` field's JSON (None when empty), within the API's JSON limits."""
    raw = text(form, "items")
    if raw is None or not raw.strip():
        return None
    try:
        items = loads(raw.encode("utf-8", "surrogatepass"))
        if type(items) is dict or type(items) is list:
            check_depth(items, above=1)  # in a request body the list is one level down
    except InvalidJson as error:
        message = str(error.detail).replace("the request body", "this")
        raise InvalidInput.of("items", message) from None
    return items


def _policy_body(form: FormData, creating: bool) -> dict[str, Any]:
    items = _items(form)
    if items is None and not creating:
        items = []  # an emptied field: no items any more
    return {
        **present(name=_raw(form, "name"), items=items),
        **_optional(creating, note=text(form, "note")),
    }


def _number(value: str | None) -> float | str | None:
    """A coordinate as a number when it reads as one; otherwise as typed, so that the API's
    model says what is wrong with it."""
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return value


def _location_body(form: FormData, creating: bool) -> dict[str, Any]:
    lat, long = text(form, "coordinates.lat"), text(form, "coordinates.long")
    coordinates = None
    if lat is not None or long is not None:
        coordinates = present(lat=_number(lat), long=_number(long))
    body = {
        **present(name=_raw(form, "name"), coordinates=coordinates, address=text(form, "address")),
        **_optional(
            creating, customId=text(form, "customId"), description=text(form, "description")
        ),
    }
    if creating:
        body.update(present(tagUids=texts(form, "tagUids") or None))
    return body


class LocationTags(RequestBody):
    """A location's tags, all at once, as the console's form sends them (the API assigns them
    one by one): checked as the API checks a new location's `tagUids`."""

    tag_uids: TagList


def _messages(error: DomainError, fields: frozenset[str]) -> FieldErrors:
    """The refusal's messages by form field, like `forms.field_errors`, except that a nested
    field with an input of its own (`coordinates.lat`) gets its messages, and a problem deeper
    inside a field (`items.0.type`) is shown at that field with its path."""
    messages: FieldErrors = defaultdict(list)
    for problem in error.details or [FieldProblem("", error.message)]:
        field, outer = problem.field, problem.field.split(".")[0]
        if field in fields:
            messages[field].append(problem.message)
        elif outer in fields:
            messages[outer].append(f"{field}: {problem.message}")
        else:
            messages[""].append(f"{field}: {problem.message}" if field else problem.message)
    return dict(messages)


# --- what the pages show ------------------------------------------------------------------


def _tag_values(tag: Entry[TagSpec]) -> Values:
    spec = tag.spec
    return {"name": spec.name, "color": spec.color, "parentTagUid": spec.parent_tag_uid}


def _policy_values(policy: Entry[PolicySpec]) -> Values:
    items = [item.model_dump(mode="json", by_alias=True) for item in PolicyOut.of(policy).items]
    return {
        "name": policy.spec.name,
        "note": policy.spec.note,
        "items": json.dumps(items, indent=2, ensure_ascii=False) if items else "",
    }


def _location_values(location: Entry[LocationSpec]) -> Values:
    spec, place = location.spec, location.spec.place
    return {
        "name": spec.name,
        "address": place.text if isinstance(place, Address) else None,
        "coordinates.lat": str(place.lat) if isinstance(place, Coordinates) else None,
        "coordinates.long": str(place.long) if isinstance(place, Coordinates) else None,
        "customId": spec.custom_id,
        "description": spec.description,
        "tagUids": list(spec.tag_uids),
    }


def _tag_spec(form: FormData) -> TagSpec:
    return validated(TagCreate, _tag_body(form, creating=True)).spec()


def _tag_changes(form: FormData) -> Changes:
    return validated(TagUpdate, _tag_body(form, creating=False)).changes()


def _policy_spec(form: FormData) -> PolicySpec:
    return validated(PolicyCreate, _policy_body(form, creating=True)).spec()


def _policy_changes(form: FormData) -> Changes:
    return validated(PolicyUpdate, _policy_body(form, creating=False)).changes()


def _location_spec(form: FormData) -> LocationSpec:
    return validated(LocationCreate, _location_body(form, creating=True)).spec()


def _location_changes(form: FormData) -> Changes:
    """The API's update, plus every tag at once; a location keeps a place (emptying both
    address and coordinates is refused as the API refuses a new location without one)."""
    body = _location_body(form, creating=False)
    changes = validated(LocationUpdate, body).changes()
    if "coordinates" not in body and "address" not in body:
        required_place(None, None)
    tags = validated(LocationTags, {"tagUids": texts(form, "tagUids")})
    return replace(changes, tag_uids=distinct_tags(tags.tag_uids))


@dataclass(frozen=True)
class Kind:
    """What differs between the three sections' pages."""

    kind: RegistryKind
    slug: str
    title: str
    noun: str
    fields: frozenset[str]
    """The form's fields: the API's (camelCase, dotted when nested) names."""
    on_delete: str
    """What deleting one does to what refers to it, said on the confirmation page."""
    spec_of: Callable[[FormData], Any]
    """A new entry's spec (`TagSpec`, …) from the form, checked by the API's create model."""
    changes_of: Callable[[FormData], Changes]
    """An edit from the form, checked by the API's update model."""
    values_of: Callable[[Entry[Any]], Values]
    """What the edit form shows of an entry."""

    @property
    def url(self) -> str:
        return f"{SETTINGS}/{self.slug}"

    def url_of(self, uid: str, action: str = "") -> str:
        return f"{self.url}/{uid}{'/' + action if action else ''}"

    def typed(self, form: FormData) -> Values:
        """What was typed in the form, shown back with the messages."""
        values: Values = {name: _raw(form, name) for name in self.fields}
        values["tagUids"] = texts(form, "tagUids")
        return values


TAGS = Kind(
    RegistryKind.TAG,
    "tags",
    "Tags",
    "tag",
    frozenset({"name", "color", "parentTagUid"}),
    "Recipes that list it turn Invalid when their device registers; locations lose it and "
    "its child tags lose their parent.",
    _tag_spec,
    _tag_changes,
    _tag_values,
)
POLICIES = Kind(
    RegistryKind.POLICY,
    "policies",
    "Policies",
    "policy",
    frozenset({"name", "note", "items"}),
    "Recipes that name it turn Invalid when their device registers. Archiving keeps it "
    "valid for them instead.",
    _policy_spec,
    _policy_changes,
    _policy_values,
)
LOCATIONS = Kind(
    RegistryKind.LOCATION,
    "locations",
    "Locations",
    "location",
    frozenset(
        {
            "name",
            "address",
            "coordinates",
            "coordinates.lat",
            "coordinates.long",
            "customId",
            "description",
            "tagUids",
        }
    ),
    "Recipes that name it turn Invalid when their device registers.",
    _location_spec,
    _location_changes,
    _location_values,
)
KINDS = (TAGS, POLICIES, LOCATIONS)


async def _tag_names(store: Store, session: ConsoleSession) -> dict[str, str]:
    rows = await use_cases.list_entries(
        store, session.principal, RegistryKind.TAG, None, 0, TAG_CHOICES
    )
    return {tag.uid: tag.spec.name for _, tag in rows}


def _settings_page(
    request: Request,
    session: ConsoleSession,
    name: str,
    kind: Kind,
    title: str,
    status_code: int = 200,
    **context: Any,
) -> Response:
    return render(
        request,
        name,
        session,
        status_code=status_code,
        title=title,
        section="settings",
        kind=kind,
        **context,
    )


# --- lists --------------------------------------------------------------------------------


@router.get("/settings")
async def settings_home() -> Response:
    return RedirectResponse(TAGS.url, status_code=303)


async def _list_page(
    request: Request,
    store: Store,
    session: ConsoleSession,
    kind: Kind,
    after: int,
    archived: bool = False,
) -> Response:
    if kind is POLICIES:
        rows = await use_cases.list_policies(
            store, session.principal, None, after, PAGE_SIZE + 1, archived
        )
    else:
        rows = await use_cases.list_entries(
            store, session.principal, kind.kind, None, after, PAGE_SIZE + 1
        )
    shown = rows[:PAGE_SIZE]
    following = None
    if len(rows) > PAGE_SIZE:
        query = f"after={shown[-1][0]}" + ("&archived=true" if archived else "")
        following = f"{kind.url}?{query}"
    tag_names = await _tag_names(store, session) if kind is not POLICIES else {}
    return _settings_page(
        request,
        session,
        f"settings_{kind.slug}.html",
        kind,
        f"Archived {kind.slug}" if archived else kind.title,
        entries=[entry for _, entry in shown],
        following=following,
        archived=archived,
        tag_names=tag_names,
    )


@router.get("/settings/tags")
async def tags_page(
    request: Request, store: StoreDep, session: SessionDep, after: After = 0
) -> Response:
    return await _list_page(request, store, session, TAGS, after)


@router.get("/settings/policies")
async def policies_page(
    request: Request,
    store: StoreDep,
    session: SessionDep,
    after: After = 0,
    archived: Annotated[bool, Query()] = False,
) -> Response:
    """The current policies; with `archived=true`, the archived ones."""
    return await _list_page(request, store, session, POLICIES, after, archived)


@router.get("/settings/locations")
async def locations_page(
    request: Request, store: StoreDep, session: SessionDep, after: After = 0
) -> Response:
    return await _list_page(request, store, session, LOCATIONS, after)


# --- forms --------------------------------------------------------------------------------


async def _form_page(
    request: Request,
    store: Store,
    session: ConsoleSession,
    kind: Kind,
    entry: Entry[Any] | None,
    values: Values,
    errors: FieldErrors | None = None,
    status_code: int = 200,
) -> Response:
    title = f"New {kind.noun}" if entry is None else f"Edit {kind.noun} “{entry.spec.name}”"
    tag_names = await _tag_names(store, session) if kind is not POLICIES else {}
    if entry is not None and kind is TAGS:
        tag_names.pop(entry.uid, None)  # a tag cannot be its own parent
    return _settings_page(
        request,
        session,
        f"settings_{kind.noun}.html",
        kind,
        title,
        status_code=status_code,
        entry=entry,
        values=values,
        errors=errors or {},
        tag_choices=list(tag_names.items()),
        action=kind.url if entry is None else kind.url_of(entry.uid),
    )


Save = Callable[[FormData], Awaitable[object]]


async def _submitted(
    request: Request,
    store: Store,
    session: ConsoleSession,
    kind: Kind,
    entry: Entry[Any] | None,
    save: Save,
) -> Response:
    """Save the form; refused, the form again with what was typed and the API's messages."""
    form = await request.form()
    try:
        await save(form)
    except (InvalidInput, Conflict) as error:
        return await _form_page(
            request,
            store,
            session,
            kind,
            entry,
            kind.typed(form),
            _messages(error, kind.fields),
            status_code=422 if isinstance(error, InvalidInput) else 409,
        )
    return RedirectResponse(kind.url, status_code=303)


def _routes(kind: Kind) -> None:
    """The pages every kind has: new, edit, delete (after a confirmation)."""

    @router.get(f"/settings/{kind.slug}/new", name=f"new {kind.noun}")
    async def new_page(request: Request, store: StoreDep, session: SessionDep) -> Response:
        return await _form_page(request, store, session, kind, None, {})

    @router.post(f"/settings/{kind.slug}", name=f"create {kind.noun}")
    async def create(request: Request, store: StoreDep, session: CheckedSessionDep) -> Response:
        async def save(form: FormData) -> object:
            return await use_cases.create_entry(store, session.principal, kind.spec_of(form), None)

        return await _submitted(request, store, session, kind, None, save)

    @router.get(f"/settings/{kind.slug}{UID}", name=f"edit {kind.noun}")
    async def edit_page(
        request: Request, uid: str, store: StoreDep, session: SessionDep
    ) -> Response:
        entry = await use_cases.get_entry(store, session.principal, kind.kind, uid)
        return await _form_page(request, store, session, kind, entry, kind.values_of(entry))

    @router.post(f"/settings/{kind.slug}{UID}", name=f"update {kind.noun}")
    async def update(
        request: Request, uid: str, store: StoreDep, session: CheckedSessionDep
    ) -> Response:
        entry = await use_cases.get_entry(store, session.principal, kind.kind, uid)

        async def save(form: FormData) -> object:
            changes = kind.changes_of(form)
            return await use_cases.update_entry(store, session.principal, kind.kind, uid, changes)

        return await _submitted(request, store, session, kind, entry, save)

    @router.get(f"/settings/{kind.slug}{UID}/delete", name=f"confirm deleting {kind.noun}")
    async def confirm_page(
        request: Request, uid: str, store: StoreDep, session: SessionDep
    ) -> Response:
        entry = await use_cases.get_entry(store, session.principal, kind.kind, uid)
        title = f"Delete {kind.noun} “{entry.spec.name}”?"
        return _settings_page(request, session, "settings_delete.html", kind, title, entry=entry)

    @router.post(f"/settings/{kind.slug}{UID}/delete", name=f"delete {kind.noun}")
    async def delete(uid: str, store: StoreDep, session: CheckedSessionDep) -> Response:
        await use_cases.delete_entry(store, session.principal, kind.kind, uid)
        return RedirectResponse(kind.url, status_code=303)


for _kind in KINDS:
    _routes(_kind)


async def _archive(store: Store, session: ConsoleSession, uid: str, archive: bool) -> Response:
    await use_cases.archive_policy(store, session.principal, uid, archive)
    return RedirectResponse(POLICIES.url_of(uid), status_code=303)


@router.post(f"/settings/policies{UID}/archive")
async def archive_policy(uid: str, store: StoreDep, session: CheckedSessionDep) -> Response:
    return await _archive(store, session, uid, True)


@router.post(f"/settings/policies{UID}/unarchive")
async def unarchive_policy(uid: str, store: StoreDep, session: CheckedSessionDep) -> Response:
    return await _archive(store, session, uid, False)
