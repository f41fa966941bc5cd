"""Exporters: the organization's webhook endpoints, their deliveries, and a test event.

The form's fields carry the API's JSON paths (`config.url`, `config.auth.signing.secret`), so
the API's refusals land next to them. The secret is write-only: no page ever carries it back.
"""

from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import RedirectResponse
from starlette.datastructures import FormData

from provisio.api.deps import SettingsDep, StoreDep
from provisio.api.exporter_models import ExporterCreate, ExporterUpdate
from provisio.api.paths import UID
from provisio.console.forms import checked, field_errors, present, text, texts, validated
from provisio.console.routing import ConsoleRoute
from provisio.console.sessions import CheckedSessionDep, SessionDep
from provisio.console.templating import render
from provisio.domain.errors import InvalidInput
from provisio.domain.events import EVENT_TYPES
from provisio.domain.exporter import PING_TYPE, Exporter
from provisio.service import exporters as use_cases
from provisio.service.console_sessions import ConsoleSession
from provisio.settings import Settings
from provisio.store.unit_of_work import Store

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)

URL = "config.url"
SECRET = "config.auth.signing.secret"
TYPES = "subscribedEventTypes"
FIELDS = frozenset({"name", "description", TYPES, "enabled", URL, SECRET})
LIST_SIZE = 100
LOG_SIZE = 25
"""Deliveries per page of the log, newest first."""

StatusFilter = Annotated[Literal["", "pending", "delivered", "failed"], Query()]
Cursor = Annotated[int, Query(ge=0, le=2**62)]


@dataclass
class ExporterForm:
    """What the form shows: the stored or submitted values, never the secret."""

    name: str = ""
    description: str = ""
    url: str = ""
    types: list[str] = field(default_factory=list)
    enabled: bool = True

    @classmethod
    def of(cls, exporter: Exporter) -> "ExporterForm":
        spec = exporter.spec
        return cls(
            spec.name,
            spec.description or "",
            spec.url,
            list(spec.subscribed_event_types),
            spec.enabled,
        )

    @classmethod
    def sent(cls, form: FormData) -> "ExporterForm":
        return cls(
            text(form, "name") or "",
            text(form, "description") or "",
            text(form, URL) or "",
            texts(form, TYPES),
            checked(form, "enabled"),
        )


def _create_body(form: FormData) -> dict[str, Any]:
    """The API's create body; an empty field is absent (so "Field required")."""
    signing = present(algorithm="HS256", secret=text(form, SECRET))
    auth = {"authType": "httpSignedBody", "signing": signing}
    return present(
        name=text(form, "name"),
        description=text(form, "description"),
        subscribedEventTypes=texts(form, TYPES),
        enabled=checked(form, "enabled"),
        config=present(configType="webhook", url=text(form, URL), auth=auth),
    )


def _update_body(form: FormData) -> dict[str, Any]:
    """The API's partial update with every field of the form: an empty name or URL is sent
    empty (refused next to its field), an empty description clears it, an empty secret is
    left out (the stored one is kept)."""
    config: dict[str, Any] = {"url": form.get(URL, "")}
    secret = text(form, SECRET)
    if secret is not None:
        config["auth"] = {"signing": {"secret": secret}}
    return {
        "name": form.get("name", ""),
        "description": text(form, "description"),
        TYPES: texts(form, TYPES),
        "enabled": checked(form, "enabled"),
        "config": config,
    }


async def _refusal(error: InvalidInput, form: FormData, settings: Settings) -> InvalidInput:
    """A refused form also says at once what the URL policy thinks of its URL (the API
    checks it only once the body is valid)."""
    url = text(form, URL)
    if url is None or any(problem.field == URL for problem in error.details):
        return error
    try:
        await use_cases.check_url(url, settings.url_policy)
    except InvalidInput as more:
        return InvalidInput(error.message, [*error.details, *more.details])
    return error


def _form_page(
    request: Request,
    session: ConsoleSession,
    values: ExporterForm,
    exporter: Exporter | None = None,
    error: InvalidInput | None = None,
) -> Response:
    title = "New exporter" if exporter is None else f"Edit {exporter.spec.name}"
    return render(
        request,
        "exporter_form.html",
        session,
        status_code=422 if error else 200,
        title=title,
        section="exporters",
        exporter=exporter,
        values=values,
        event_types=EVENT_TYPES,
        errors=field_errors(error, FIELDS) if error else {},
    )


def _to_exporter(uid: str, query: str = "") -> Response:
    return RedirectResponse(f"/console/exporters/{uid}{query}", status_code=303)


@router.get("/exporters")
async def exporters_page(
    request: Request, store: StoreDep, session: SessionDep, after: Cursor = 0
) -> Response:
    rows = await use_cases.list_exporters(store, session.principal, None, after, LIST_SIZE + 1)
    following = rows[LIST_SIZE - 1][0] if len(rows) > LIST_SIZE else None
    chosen = [exporter for _, exporter in rows[:LIST_SIZE]]
    seen = await use_cases.observe(store, chosen)
    return render(
        request,
        "exporters.html",
        session,
        title="Exporters",
        section="exporters",
        exporters=[(exporter, seen[exporter.uid]) for exporter in chosen],
        following=following,
    )


@router.get("/exporters/new")
async def new_exporter_page(request: Request, session: SessionDep) -> Response:
    return _form_page(request, session, ExporterForm())


@router.post("/exporters/new")
async def create_exporter(
    request: Request, store: StoreDep, settings: SettingsDep, session: CheckedSessionDep
) -> Response:
    form = await request.form()
    try:
        body = validated(ExporterCreate, _create_body(form))
        exporter = await use_cases.create_exporter(
            store, session.principal, body.spec(), settings.url_policy
        )
    except InvalidInput as error:
        error = await _refusal(error, form, settings)
        return _form_page(request, session, ExporterForm.sent(form), error=error)
    return _to_exporter(exporter.uid)


async def _exporter_page(
    request: Request,
    store: Store,
    session: ConsoleSession,
    uid: str,
    *,
    status: str = "",
    before: int = 0,
    status_code: int = 200,
    **context: Any,
) -> Response:
    """The exporter page, its log filtered by `status` and starting below the delivery
    `before` (0: the newest). The page polls itself for its live part."""
    principal = session.principal
    exporter = await use_cases.get_exporter(store, principal, uid)
    seen = await use_cases.observe(store, [exporter])
    log = await use_cases.list_deliveries(
        store, principal, uid, status or None, before, LOG_SIZE + 1, newest_first=True
    )
    older = log[LOG_SIZE - 1].id if len(log) > LOG_SIZE else None
    return render(
        request,
        "exporter.html",
        session,
        status_code=status_code,
        title=exporter.spec.name,
        section="exporters",
        exporter=exporter,
        seen=seen[exporter.uid],
        deliveries=log[:LOG_SIZE],
        status=status,
        before=before,
        older=older,
        ping_type=PING_TYPE,
        **context,
    )


@router.get(f"/exporters{UID}")
async def exporter_page(
    request: Request,
    store: StoreDep,
    session: SessionDep,
    uid: str,
    status: StatusFilter = "",
    before: Cursor = 0,
    replayed: Annotated[int | None, Query(ge=0)] = None,
) -> Response:
    notice = None
    if replayed is not None:
        notice = f"{replayed} failed {'delivery' if replayed == 1 else 'deliveries'} queued again."
    return await _exporter_page(
        request, store, session, uid, status=status, before=before, notice=notice
    )


@router.get(f"/exporters{UID}/edit")
async def edit_exporter_page(
    request: Request, store: StoreDep, session: SessionDep, uid: str
) -> Response:
    exporter = await use_cases.get_exporter(store, session.principal, uid)
    return _form_page(request, session, ExporterForm.of(exporter), exporter)


@router.post(f"/exporters{UID}/edit")
async def edit_exporter(
    request: Request,
    store: StoreDep,
    settings: SettingsDep,
    session: CheckedSessionDep,
    uid: str,
) -> Response:
    exporter = await use_cases.get_exporter(store, session.principal, uid)
    form = await request.form()
    try:
        body = validated(ExporterUpdate, _update_body(form))
        await use_cases.update_exporter(
            store, session.principal, uid, body.changes(), settings.url_policy
        )
    except InvalidInput as error:
        error = await _refusal(error, form, settings)
        return _form_page(request, session, ExporterForm.sent(form), exporter, error)
    return _to_exporter(uid)


@router.post(f"/exporters{UID}/enable")
@router.post(f"/exporters{UID}/disable")
async def switch_exporter(
    request: Request,
    store: StoreDep,
    settings: SettingsDep,
    session: CheckedSessionDep,
    uid: str,
) -> Response:
    """`Enable` or `Disable`, as the path says."""
    on = request.url.path.endswith("/enable")
    try:
        await use_cases.update_exporter(
            store, session.principal, uid, {"enabled": on}, settings.url_policy
        )
    except InvalidInput as error:  # the URL no longer passes the policy (DNS changed)
        return await _exporter_page(
            request, store, session, uid, status_code=422, problem=error.message
        )
    return _to_exporter(uid)


@router.post(f"/exporters{UID}/replay")
async def replay_failed(
    request: Request, store: StoreDep, session: CheckedSessionDep, uid: str
) -> Response:
    try:
        queued = await use_cases.replay(store, session.principal, uid, failed=True)
    except InvalidInput as error:  # more than a replay may queue at once
        return await _exporter_page(
            request, store, session, uid, status_code=422, problem=error.message
        )
    return _to_exporter(uid, f"?replayed={queued}")


@router.post(f"/exporters{UID}/test")
async def send_test_event(
    request: Request,
    store: StoreDep,
    settings: SettingsDep,
    session: CheckedSessionDep,
    uid: str,
) -> Response:
    sent = await use_cases.send_test_event(
        store, session.principal, uid, settings.url_policy, settings.delivery_timeout
    )
    return await _exporter_page(request, store, session, uid, sent=sent)


@router.get(f"/exporters{UID}/delete")
async def delete_exporter_page(
    request: Request, store: StoreDep, session: SessionDep, uid: str
) -> Response:
    exporter = await use_cases.get_exporter(store, session.principal, uid)
    return render(
        request,
        "exporter_delete.html",
        session,
        title=f"Delete {exporter.spec.name}",
        section="exporters",
        exporter=exporter,
    )


@router.post(f"/exporters{UID}/delete")
async def delete_exporter(store: StoreDep, session: CheckedSessionDep, uid: str) -> Response:
    await use_cases.delete_exporter(store, session.principal, uid)
    return RedirectResponse("/console/exporters", status_code=303)
