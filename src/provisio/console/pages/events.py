"""Events: the organization's feed, newest first, paged backwards, filtered by type, live.

The first page stays live: every second htmx asks `/console/events/live` for what is newer than
the newest event shown (one walk down the top of the index on (organization, position)), and
puts it on top. Each event opens to its envelope exactly as stored — the bytes webhooks sign.
"""

import json
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response

from provisio.api.deps import StoreDep
from provisio.api.pagination import After
from provisio.console.routing import ConsoleRoute
from provisio.console.sessions import SessionDep
from provisio.console.templating import render
from provisio.domain.errors import InvalidInput
from provisio.domain.events import EVENT_TYPES
from provisio.service.console_sessions import ConsoleSession
from provisio.service.feed import read_newest
from provisio.store.events import FeedEntry
from provisio.store.unit_of_work import Store

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)

PAGE_SIZE = 50
PAGE = "/console/events"
LIVE = "/console/events/live"

TypeQuery = Annotated[str | None, Query(alias="type", max_length=100)]
Before = Annotated[int | None, Query(ge=1, le=2**62)]


@dataclass(frozen=True)
class EventView:
    """One feed entry as the page shows it: `exact` is the stored envelope, decoded but
    otherwise untouched; `pretty` the same JSON indented for reading."""

    entry: FeedEntry
    exact: str
    pretty: str

    @classmethod
    def of(cls, entry: FeedEntry) -> "EventView":
        exact = entry.body.decode("utf-8", "replace")
        try:
            pretty = json.dumps(json.loads(exact), indent=2, ensure_ascii=False)
        except ValueError:  # stored by provisio, so JSON; shown as it is should it not be
            pretty = exact
        return cls(entry, exact, pretty)


def _types(chosen: str | None) -> list[str]:
    """The type filter: empty is every type; a type provisio does not emit is refused."""
    if not chosen:
        return []
    if chosen not in EVENT_TYPES:
        raise InvalidInput.of("type", "not an event type provisio emits")
    return [chosen]


def _url(path: str, **query: Any) -> str:
    present = {name: value for name, value in query.items() if value}
    return f"{path}?{urlencode(present)}" if present else path


@dataclass(frozen=True)
class Feed:
    """A page of the feed and where it leads: `live` on the first page (with the position to
    poll from), `older` when more events lie behind it."""

    events: list[EventView]
    chosen: str | None
    live: str | None
    older: str | None
    newest: str | None


async def _feed(
    store: Store, session: ConsoleSession, chosen: str | None, before: int | None
) -> Feed:
    types = _types(chosen)
    principal = session.principal
    rows = await read_newest(store, principal, before=before, limit=PAGE_SIZE + 1, types=types)
    shown = rows[:PAGE_SIZE]
    older = _url(PAGE, type=chosen, before=shown[-1].position) if len(rows) > PAGE_SIZE else None
    if before is not None:
        return Feed([EventView.of(e) for e in shown], chosen, None, older, _url(PAGE, type=chosen))
    if shown:
        live = _url(LIVE, type=chosen, after=shown[0].position)
    else:  # nothing of this type yet: wait from the newest event of any type
        top = await read_newest(store, principal, limit=1)
        live = _url(LIVE, type=chosen, after=top[0].position if top else 0, empty="true")
    return Feed([EventView.of(e) for e in shown], chosen, live, older, None)


@router.get("/events")
async def events_page(
    request: Request,
    store: StoreDep,
    session: SessionDep,
    type_: TypeQuery = None,
    before: Before = None,
) -> Response:
    feed = await _feed(store, session, type_, before)
    return render(
        request,
        "events.html",
        session,
        title="Events",
        section="events",
        feed=feed,
        event_types=[(name, name) for name in EVENT_TYPES],
    )


@router.get("/events/live")
async def newer_events(
    request: Request,
    store: StoreDep,
    session: SessionDep,
    after: After = 0,
    type_: TypeQuery = None,
    empty: bool = False,
) -> Response:
    """Nothing new: 204, and htmx leaves the page alone. New events: they go on top, with the
    poller moved past them. More than a page of them, or a page that showed none: the first
    page again, whole."""
    types = _types(type_)
    rows = await read_newest(
        store, session.principal, after=after, limit=PAGE_SIZE + 1, types=types
    )
    if not rows:
        return Response(status_code=204)
    if empty or len(rows) > PAGE_SIZE:
        feed = await _feed(store, session, type_, None)
        response = render(request, "events_feed.html", session, feed=feed)
        response.headers.update({"HX-Retarget": "#events-feed", "HX-Reswap": "outerHTML"})
        return response
    return render(
        request,
        "events_live.html",
        session,
        events=[EventView.of(entry) for entry in rows],
        live=_url(LIVE, type=type_, after=rows[0].position),
    )
