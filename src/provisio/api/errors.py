"""The one error body every failure answers with, and the handlers that produce it."""

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException

from provisio.domain.errors import (
    Conflict,
    DomainError,
    FieldProblem,
    Forbidden,
    InvalidInput,
    NotFound,
    PreconditionFailed,
    Unauthenticated,
)

_STATUS: dict[type[DomainError], int] = {
    InvalidInput: 422,
    NotFound: 404,
    Conflict: 409,
    PreconditionFailed: 412,
    Unauthenticated: 401,
    Forbidden: 403,
}


class ErrorDetail(BaseModel):
    field: str
    message: str
    row: int | SkipJsonSchema[None] = None


class ErrorBody(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    error_code: int = Field(alias="errorCode")
    error_name: str = Field(alias="errorName")
    message: str
    details: list[ErrorDetail]


def error_response(
    status: int, message: str, details: list[FieldProblem] | None = None
) -> JSONResponse:
    body = ErrorBody(
        error_code=status,
        error_name=HTTPStatus(status).phrase.replace(" ", "").replace("-", ""),
        message=message,
        details=[ErrorDetail(field=p.field, message=p.message, row=p.row) for p in details or []],
    )
    headers = {"WWW-Authenticate": "X-Auth"} if status == 401 else None
    return JSONResponse(
        body.model_dump(by_alias=True, exclude_none=True), status_code=status, headers=headers
    )


def _location(loc: tuple[int | str, ...]) -> str:
    """`("body", "tagUids", 0)` → `tagUids.0`; the source prefix is dropped."""
    parts = loc[1:] if loc and loc[0] in ("body", "query", "path", "header") else loc
    return ".".join(str(part) for part in parts) or str(loc[0] if loc else "body")


PATTERN_MESSAGES: dict[str, str] = {}
"""Readable messages for the API's regular expressions (filled by the wire models)."""


def _message(error: Any) -> str:
    if error["type"] == "string_pattern_mismatch":
        pattern = str(error.get("ctx", {}).get("pattern", ""))
        return PATTERN_MESSAGES.get(pattern, str(error["msg"]))
    return str(error["msg"])


def problems_from(errors: Any) -> list[FieldProblem]:
    """Pydantic errors as field problems, never echoing the submitted value."""
    return [FieldProblem(_location(tuple(e["loc"])), _message(e)) for e in errors]


async def _on_validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    return error_response(422, "the request is invalid", problems_from(errors))


def status_of(kind: type[DomainError]) -> int:
    """The status of the nearest mapped ancestor: a subclass (`Contended` is a `Conflict`)
    answers as its family does, without being listed."""
    return next(_STATUS[base] for base in kind.__mro__ if base in _STATUS)


async def _on_domain(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    return error_response(status_of(type(exc)), exc.message, exc.details)


async def _on_http(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    response = error_response(exc.status_code, str(exc.detail))
    response.headers.update(exc.headers or {})  # e.g. the `Allow` a 405 must carry
    return response


async def _on_pool_timeout(_: Request, exc: Exception) -> JSONResponse:
    # SQLAlchemy raises its TimeoutError only when no pooled connection came free in time.
    response = error_response(503, "the server is busy; try again shortly")
    response.headers["Retry-After"] = "1"
    return response


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(PoolTimeout, _on_pool_timeout)
    app.add_exception_handler(DomainError, _on_domain)
    app.add_exception_handler(HTTPException, _on_http)


def _described(text: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": text}


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _described("Malformed JSON"),
    401: _described("Missing or invalid X-Auth token"),
    403: _described("The token may not do this"),
    404: _described("Not found (or another tenant's)"),
    409: _described("Conflict with the current state"),
    412: _described("If-Match does not match the ETag"),
    413: _described("Request body too large"),
    415: _described("Unsupported content type"),
    422: _described("Validation failed; details name each field"),
    429: _described("Rate limit reached; Retry-After says when to try again"),
    503: _described("No database connection came free within a second; see Retry-After"),
}
"""Declared on every route so the OpenAPI schema matches what the API answers."""
