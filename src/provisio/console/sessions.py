"""Request dependencies: the signed-in session, and the CSRF check every change must pass."""

from typing import Annotated

from fastapi import Depends, Request, Response

from provisio.api.deps import StoreDep
from provisio.api.rate_limits import RateLimits
from provisio.console.routing import SignInRequired
from provisio.domain.errors import Forbidden
from provisio.service import console_sessions
from provisio.service.console_sessions import ConsoleSession

COOKIE = "provisio_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


async def current_session(request: Request, store: StoreDep) -> ConsoleSession:
    """The signed-in session, within its token's request rate; none → the sign-in page."""
    session = await console_sessions.resume(store, request.cookies.get(COOKIE))
    if session is None:
        raise SignInRequired
    limits: RateLimits = request.app.state.rate_limits
    limits.requests.spend(session.principal.token_id)
    request.state.console_session = session  # failure pages keep the navigation
    return session


SessionDep = Annotated[ConsoleSession, Depends(current_session)]


async def checked_session(request: Request, session: SessionDep) -> ConsoleSession:
    """The session of a state-changing request that carries the session's CSRF token (form
    field, or header for htmx requests); anything else is refused (403) and changes nothing."""
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        value = (await request.form()).get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not session.csrf_matches(sent):
        raise Forbidden("the form is out of date or was not sent by this console; reload the page")
    return session


CheckedSessionDep = Annotated[ConsoleSession, Depends(checked_session)]


def set_cookie(request: Request, response: Response, name: str, value: str, path: str) -> None:
    """A console cookie: never readable by scripts, never sent from another site, and only
    over https when the console is served over https."""
    response.set_cookie(
        name,
        value,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path=path,
    )


def set_session_cookie(request: Request, response: Response, value: str) -> None:
    set_cookie(request, response, COOKIE, value, "/console")


def clear_session_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(
        COOKIE,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/console",
    )
