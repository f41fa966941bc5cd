"""Bulk request bodies as a stream of rows: a JSON array, or CSV read as it arrives."""

import codecs
import csv
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

from fastapi import Request
from pydantic import TypeAdapter, ValidationError

from provisio.api.errors import problems_from
from provisio.api.limits import CSV
from provisio.api.schemas import RecipeCreate
from provisio.domain.errors import FieldProblem, InvalidInput
from provisio.service.recipes import BulkRow

CSV_COLUMNS = (
    "brand",
    "model",
    "serialNumber",
    "macAddress",
    "deviceName",
    "tagUids",
    "policyUid",
    "locationUid",
    "confirmedOwnership",
)
_TRUE = {"true", "yes", "1"}
_FALSE = {"false", "no", "0"}

BULK_OPENAPI: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"type": "array", "items": {"$ref": "#/components/schemas/RecipeCreate"}}
            },
            "text/csv": {
                "schema": {"type": "string"},
                "example": "brand,serialNumber,deviceName\nsamsung,SN-1,Lobby\n",
            },
        },
    }
}

_create = TypeAdapter(RecipeCreate)


def _validated(row: int, data: Any, organization_uid: str | None) -> BulkRow:
    if isinstance(data, dict) and organization_uid is not None:
        data = {"organizationUid": organization_uid, **data}
    try:
        return BulkRow(row, _create.validate_python(data).sent())
    except ValidationError as error:
        problems = problems_from(
            [{**e, "loc": ("body", *e["loc"])} for e in error.errors(include_input=False)]
        )
        return BulkRow(row, {}, tuple(FieldProblem(p.field, p.message, row) for p in problems))


async def bulk_rows(request: Request, organization_uid: str | None) -> AsyncIterator[BulkRow]:
    """Rows numbered from 1 (a CSV header does not count)."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media == CSV:
        async for number, record in _csv_records(request):
            yield _validated(number, _csv_fields(record), organization_uid)
        return
    try:
        items = json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InvalidInput.of("body", "is not valid JSON") from None
    if not isinstance(items, list):
        raise InvalidInput.of("body", "must be a JSON array of recipes")
    for number, item in enumerate(items, start=1):
        yield _validated(number, item, organization_uid)


def _csv_fields(record: dict[str, str]) -> dict[str, Any]:
    """CSV cells → create-body fields; an empty cell means the field is absent."""
    fields: dict[str, Any] = {}
    for column, cell in record.items():
        value = cell.strip()
        if not value:
            continue
        if column == "tagUids":
            fields[column] = [tag.strip() for tag in value.split(";") if tag.strip()]
        elif column == "confirmedOwnership":
            lowered = value.lower()
            fields[column] = True if lowered in _TRUE else False if lowered in _FALSE else value
        else:
            fields[column] = value
    return fields


async def _csv_records(request: Request) -> AsyncIterator[tuple[int, dict[str, str]]]:
    header: list[str] | None = None
    number = 0
    async for text in _csv_texts(request):
        for cells in _parsed(text, number + 1 if header is not None else None):
            if header is None:
                header = _check_header(cells)
                continue
            if not any(cell.strip() for cell in cells):
                continue
            number += 1
            if len(cells) > len(header):
                raise InvalidInput(
                    f"row {number} has more cells than the header",
                    [FieldProblem("", "more cells than the header", number)],
                )
            yield number, dict(zip(header, cells, strict=False))
    if header is None:
        raise InvalidInput.of("body", "the CSV has no header row")


def _parsed(record: str, row: int | None) -> list[list[str]]:
    """One record's cells; malformed CSV (e.g. a bare carriage return) is a 422, not a 500."""
    try:
        return list(csv.reader([record]))
    except csv.Error as error:
        where = "the header" if row is None else f"row {row}"
        reason = str(error).split(" - ")[0]  # drop Python's "open the file in ... mode?" advice
        problem = FieldProblem("header" if row is None else "", f"not valid CSV: {reason}", row)
        raise InvalidInput(f"{where} is not valid CSV", [problem]) from None


def _check_header(cells: list[str]) -> list[str]:
    header = [cell.strip() for cell in cells]
    unknown = [name for name in header if name not in CSV_COLUMNS]
    problems = [FieldProblem(name, "is not a recipe column") for name in unknown]
    if "brand" not in header:
        problems.append(FieldProblem("brand", "the CSV needs a brand column"))
    if len(set(header)) != len(header):
        problems.append(FieldProblem("header", "a column is named twice"))
    if problems:
        raise InvalidInput("invalid CSV header", problems)
    return header


async def _csv_texts(request: Request) -> AsyncIterator[str]:
    """Complete CSV records (quoted newlines kept together) as the body streams in."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    pending = ""
    try:
        async for chunk in request.stream():
            pending += decoder.decode(chunk)
            records, pending = _split_records(pending)
            for record in records:
                yield record
        pending += decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise InvalidInput.of("body", "the CSV is not UTF-8 text") from None
    if pending.strip():
        yield pending


def _split_records(text: str) -> tuple[Iterator[str], str]:
    """Split off every complete record; a record is complete when its quotes are balanced."""
    records: list[str] = []
    start = 0
    quotes = 0
    for index, char in enumerate(text):
        if char == '"':
            quotes += 1
        elif char == "\n" and quotes % 2 == 0:
            records.append(text[start:index].rstrip("\r"))
            start = index + 1
            quotes = 0
    return iter(records), text[start:]
