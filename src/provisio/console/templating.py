"""The console's Jinja2 environment and the one way a page is rendered."""

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from provisio.service.console_sessions import ConsoleSession

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


def _when(value: datetime | None) -> str:
    """Times as operators read them: UTC, to the second."""
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M:%S UTC")


templates.env.filters["when"] = _when


def render(
    request: Request,
    name: str,
    session: ConsoleSession | None = None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """`name` with the signed-in `session` (navigation, organization, CSRF token) and `context`."""
    return templates.TemplateResponse(
        request, name, {"session": session, **context}, status_code=status_code
    )
