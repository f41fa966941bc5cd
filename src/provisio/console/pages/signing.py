"""Sign in with a token, switch organization, sign out."""

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from provisio.api.deps import StoreDep
from provisio.console.routing import ConsoleRoute
from provisio.console.sessions import (
    COOKIE,
    CheckedSessionDep,
    clear_session_cookie,
    set_cookie,
    set_session_cookie,
)
from provisio.console.templating import render
from provisio.domain.errors import Forbidden, Unauthenticated
from provisio.service import console_sessions

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)

SIGN_IN_COOKIE = "provisio_sign_in"
"""The sign-in form's CSRF token, doubled in a cookie: a page elsewhere cannot sign a browser
in to an account of its choosing."""
HOME = "/console/recipes"


def _sign_in_page(request: Request, status_code: int = 200, message: str = "") -> Response:
    token = secrets.token_urlsafe(32)
    response = render(
        request, "sign_in.html", status_code=status_code, csrf_token=token, message=message
    )
    set_cookie(request, response, SIGN_IN_COOKIE, token, "/console/sign-in")
    return response


def _home() -> Response:
    return RedirectResponse(HOME, status_code=303)


@router.get("")
@router.get("/")
async def home() -> Response:
    return _home()


@router.get("/sign-in")
async def sign_in_page(request: Request, store: StoreDep) -> Response:
    if await console_sessions.resume(store, request.cookies.get(COOKIE)) is not None:
        return _home()
    return _sign_in_page(request)


@router.post("/sign-in")
async def sign_in(
    request: Request,
    store: StoreDep,
    token: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    expected = request.cookies.get(SIGN_IN_COOKIE, "")
    if not expected or not hmac.compare_digest(expected.encode(), csrf_token.encode()):
        raise Forbidden("the sign-in form is out of date; reload the page and sign in again")
    try:
        cookie = await console_sessions.sign_in(store, token.strip())
    except Unauthenticated:
        return _sign_in_page(request, 401, "That token is not valid. Check it and try again.")
    response = _home()
    set_session_cookie(request, response, cookie)
    response.delete_cookie(SIGN_IN_COOKIE, path="/console/sign-in")
    return response


@router.post("/sign-out")
async def sign_out(request: Request, store: StoreDep, _: CheckedSessionDep) -> Response:
    await console_sessions.sign_out(store, request.cookies.get(COOKIE, ""))
    response = RedirectResponse("/console/sign-in", status_code=303)
    clear_session_cookie(request, response)
    return response


@router.post("/organization")
async def choose_organization(
    store: StoreDep,
    session: CheckedSessionDep,
    organization_uid: Annotated[str, Form(alias="organizationUid")] = "",
) -> Response:
    await console_sessions.choose_organization(store, session, organization_uid)
    return _home()
