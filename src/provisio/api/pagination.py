"""Paging conventions: `limit` (default 50, max 1000), `after`, RFC 8288 `Link: rel="next"`."""

from typing import Annotated

from fastapi import Query, Request, Response

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size")]
After = Annotated[int, Query(ge=0, le=2**62, description="Cursor from the previous page's Link")]


def set_next_link(request: Request, response: Response, after: int) -> None:
    url = request.url.include_query_params(after=after)
    response.headers["Link"] = f'<{url.path}?{url.query}>; rel="next"'
