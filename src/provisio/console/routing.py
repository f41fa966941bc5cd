"""Console routes answer every failure with a page, never with JSON or a stack trace."""

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException

from provisio.api.errors import problems_from, status_of
from provisio.console.templating import render
from provisio.domain.errors import DomainError, NotFound
from provisio.domain.ids import is_uid

SIGN_IN = "/console/sign-in"

T = TypeVar("T")


class SignInRequired(Exception):
    """No valid session: the browser is sent to the sign-in page."""


def failure_page(request: Request, status_code: int, message: str) -> Response:
    """The page shown for a failure; 404s read "not found", whatever the cause."""
    session = getattr(request.state, "console_session", None)
    title = "Not found" if status_code == 404 else "Something is not right"
    return render(
        request, "failure.html", session, status_code=status_code, title=title, message=message
    )


def sign_in_redirect(request: Request) -> Response:
    if request.headers.get("HX-Request"):  # htmx follows this header, not a 303
        return Response(status_code=204, headers={"HX-Redirect": SIGN_IN})
    return RedirectResponse(SIGN_IN, status_code=303)


def _invalid_request(request: Request, error: RequestValidationError) -> Response:
    """A malformed uid in the path names nothing (404); a malformed query is a 400."""
    problems = problems_from(error.errors())
    if any(e["loc"][:1] == ("path",) for e in error.errors()):
        return failure_page(request, 404, "not found")
    return failure_page(
        request, 400, "; ".join(f"{problem.field}: {problem.message}" for problem in problems)
    )


class ConsoleRoute(APIRoute):
    """Maps the use cases' errors to pages: a missing or foreign resource (or malformed path
    or query) is the "not found" page, other refusals say why with their status."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await handle(request)
            except SignInRequired:
                return sign_in_redirect(request)
            except NotFound:
                return failure_page(request, 404, "not found")
            except DomainError as error:
                return failure_page(request, status_of(type(error)), error.message)
            except RequestValidationError as error:
                return _invalid_request(request, error)
            except HTTPException as error:  # a rate limit's 429, with its Retry-After
                response = failure_page(request, error.status_code, str(error.detail))
                response.headers.update(error.headers or {})
                return response
            except PoolTimeout:
                response = failure_page(request, 503, "the server is busy; try again shortly")
                response.headers["Retry-After"] = "1"
                return response

        return handler


async def noticed(lookup: Callable[[str], Awaitable[T]], uid: str | None) -> T | None:
    """What a notice after a change names (`?created=<uid>`, `?paired=<uid>`), or None when the
    uid is malformed, gone since, or another organization's: a notice never turns a page into
    a "not found" one."""
    if uid is None or not is_uid(uid):
        return None
    try:
        return await lookup(uid)
    except NotFound:
        return None
