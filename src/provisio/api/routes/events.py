"""`/v1/event-stream/events`: the ordered cursor feed, with long-polling."""

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from provisio.api.deps import PrincipalDep, SettingsDep, StoreDep
from provisio.api.json_limits import JsonRoute
from provisio.api.pagination import DEFAULT_LIMIT, After, Limit, OrganizationQuery, set_next_link
from provisio.api.schemas import FeedItem
from provisio.domain.events import EVENT_TYPES
from provisio.service.feed import read_feed

router = APIRouter(prefix="/v1/event-stream", tags=["event stream"], route_class=JsonRoute)

EventType = Annotated[
    str, Query(pattern="^(" + "|".join(t.replace(".", r"\.") for t in EVENT_TYPES) + ")$")
]


@router.get(
    "/events",
    response_model=list[FeedItem],
    responses={200: {"description": "Events after the cursor, in feed order"}},
)
async def read_events(
    request: Request,
    store: StoreDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    after: After = 0,
    limit: Limit = DEFAULT_LIMIT,
    type_: Annotated[list[EventType] | None, Query(alias="type")] = None,
    wait: Annotated[float, Query(ge=0, le=60, description="Long-poll up to this many seconds")] = 0,
    organization_uid: OrganizationQuery = None,
) -> Response:
    """`Link: rel="next"` always carries the cursor to continue from."""
    page = await read_feed(
        store,
        principal,
        organization_uid=organization_uid,
        after=after,
        limit=limit,
        types=type_ or [],
        wait=min(wait, settings.feed_max_wait),
        poll_interval=settings.relay_poll_interval,
        stop=request.app.state.draining,
    )
    # The stored envelope bytes are sent as they are: exactly what was signed and published.
    body = b"[" + b",".join(b'{"position":%d,"event":%s}' % item for item in page) + b"]"
    response = Response(body, media_type="application/json")
    set_next_link(request, response, page[-1][0] if page else after)
    return response
