"""List conventions: `limit` (default 50, max 1000), `after`, RFC 8288 `Link: rel="next"`, and
the `organizationUid` filter an account token may use."""

from collections.abc import Sequence
from typing import Annotated, TypeVar

from fastapi import Depends, Query, Request, Response

from provisio.api.schemas import Uid

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000

T = TypeVar("T")

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size")]
OrganizationQuery = Annotated[Uid | None, Query(alias="organizationUid")]
After = Annotated[int, Query(ge=0, le=2**62, description="Cursor from the previous page's Link")]


def set_next_link(request: Request, response: Response, after: int) -> None:
    """An absolute target: clients such as signageOS's SDK fetch it as given. Scheme and host
    are those the client reached (behind a trusted proxy, what it forwards)."""
    url = request.url.include_query_params(after=after)
    response.headers["Link"] = f'<{url}>; rel="next"'


class Paging:
    """A list request's `limit` and `after`, and the `Link` to the next page of its answer."""

    def __init__(
        self, request: Request, response: Response, limit: Limit = DEFAULT_LIMIT, after: After = 0
    ) -> None:
        self._request = request
        self._response = response
        self.limit = limit
        self.after = after

    @property
    def fetch(self) -> int:
        """How many rows to ask for: one more than a page, to know whether another follows."""
        return self.limit + 1

    def page(self, rows: Sequence[tuple[int, T]]) -> list[T]:
        """The first `limit` of the fetched (cursor, item) rows; a `Link` to the next page only
        when there is one."""
        if len(rows) > self.limit:
            rows = rows[: self.limit]
            set_next_link(self._request, self._response, rows[-1][0])
        return [item for _, item in rows]


PagingDep = Annotated[Paging, Depends()]
