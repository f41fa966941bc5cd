"""Bulk request bodies as rows: a received upload read back as a JSON array or as CSV.

Both are read element by element from the spooled file, so memory does not grow with the
upload, and both cost time linear in its size.
"""

import csv
import io
import json
import re
from collections.abc import Iterator
from typing import IO, Any, NoReturn

from pydantic import TypeAdapter, ValidationError

from provisio.api import json_limits
from provisio.api.errors import problems_from
from provisio.api.json_limits import InvalidJson
from provisio.api.limits import CSV
from provisio.api.schemas import RecipeCreate
from provisio.domain.errors import FieldProblem, InvalidInput
from provisio.service.bulk_import import BulkRow

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


def bulk_rows(upload: IO[bytes], media: str, organization_uid: str | None) -> Iterator[BulkRow]:
    """The upload's rows, numbered from 1 (a CSV header does not count).

    What makes the whole upload unreadable (a bad CSV header, a body that is not a JSON array)
    is found here, before any row is handed out; a row that cannot be read becomes that row's
    problem.
    """
    if media == CSV:
        return _csv_rows(upload, organization_uid)
    return (
        _validated(number, item, organization_uid)
        for number, item in enumerate(_json_array(upload), start=1)
    )


def _validated(row: int, data: Any, organization_uid: str | None) -> BulkRow:
    """A row checked as a create body (the same model `POST /v1/provisioning-recipe` uses)."""
    if isinstance(data, dict) and organization_uid is not None:
        data = {"organizationUid": organization_uid, **data}
    try:
        return BulkRow(row, _create.validate_python(data).sent())
    except ValidationError as error:
        problems = problems_from(
            [{**e, "loc": ("body", *e["loc"])} for e in error.errors(include_input=False)]
        )
        return BulkRow(row, {}, tuple(FieldProblem(p.field, p.message, row) for p in problems))


# --- CSV ------------------------------------------------------------------------------------


def _csv_rows(upload: IO[bytes], organization_uid: str | None) -> Iterator[BulkRow]:
    text = io.TextIOWrapper(upload, encoding="utf-8-sig", newline="")
    records = csv.reader(text)
    header = _check_header(_next_record(records, None))
    return _csv_data_rows(records, header, organization_uid)


def _csv_data_rows(
    records: Iterator[list[str]], header: list[str], organization_uid: str | None
) -> Iterator[BulkRow]:
    number = 0
    while True:
        cells = _next_record(records, number + 1)
        if cells is None:
            return
        fields = _csv_fields(header, cells)
        if not fields and not any(cell.strip() for cell in cells[len(header) :]):
            continue  # a blank line is no row
        number += 1
        if len(cells) > len(header):
            problem = FieldProblem("", "more cells than the header", number)
            yield BulkRow(number, {}, (problem,))
            continue
        yield _validated(number, fields, organization_uid)


def _next_record(records: Iterator[list[str]], row: int | None) -> list[str] | None:
    """The next record's cells (None at the end); unreadable text is a 422 naming where."""
    try:
        return next(records, None)
    except csv.Error as error:
        reason = str(error).split(" - ")[0]  # drop Python's "open the file in ... mode?" advice
        _unreadable(row, f"not valid CSV: {reason}")
    except UnicodeDecodeError:
        _unreadable(row, "not UTF-8 text")


def _unreadable(row: int | None, message: str) -> NoReturn:
    where = "the header" if row is None else f"row {row}"
    problem = FieldProblem("header" if row is None else "", message, row)
    raise InvalidInput(f"{where} is {message}", [problem])


def _csv_fields(header: list[str], cells: list[str]) -> dict[str, Any]:
    """CSV cells → create-body fields; an empty cell means the field is absent."""
    fields: dict[str, Any] = {}
    for column, cell in zip(header, cells, strict=False):
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


def _check_header(cells: list[str] | None) -> list[str]:
    if cells is None:
        raise InvalidInput.of("body", "the CSV has no header row")
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


# --- JSON -----------------------------------------------------------------------------------

_CHUNK_CHARS = 65_536
_SPACE = re.compile(r"[ \t\n\r]*")


class _JsonText:
    """A window on the upload's text: what is read so far, from `pos` on."""

    def __init__(self, upload: IO[bytes]) -> None:
        self._text = io.TextIOWrapper(upload, encoding="utf-8-sig", newline="")
        self.buffer = ""
        self.pos = 0
        self.ended = False

    def read_more(self) -> None:
        """Add at least as much as is pending (so a long element costs linear time in all)."""
        try:
            more = self._text.read(max(_CHUNK_CHARS, len(self.buffer) - self.pos))
        except UnicodeDecodeError:
            raise InvalidJson(json_limits.NOT_JSON) from None
        self.buffer = self.buffer[self.pos :] + more
        self.pos = 0
        self.ended = not more

    def next_char(self) -> str:
        """The next character that is not white space ("" at the end), not consumed."""
        while True:
            self.pos = _SPACE.match(self.buffer, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.buffer) or self.ended:
                return self.buffer[self.pos : self.pos + 1]
            self.read_more()

    def value(self) -> Any:
        """Decode the next JSON value; it is complete once something follows it."""
        while True:
            try:
                value, end = json_limits.DECODER.raw_decode(self.buffer, self.pos)
            except json.JSONDecodeError:
                if self.ended:
                    raise InvalidJson(json_limits.NOT_JSON) from None
            except RecursionError:
                raise InvalidJson(json_limits.TOO_DEEP) from None
            else:
                if end < len(self.buffer) or self.ended:
                    self.pos = end
                    return value
            self.read_more()


def _json_array(upload: IO[bytes]) -> Iterator[Any]:
    """The elements of a top-level JSON array, one at a time; a body that is not a JSON array
    is a 422, one that is not JSON at all a 400."""
    text = _JsonText(upload)
    if text.next_char() != "[":
        value = text.value()
        if isinstance(value, dict | list):
            json_limits.check_depth(value)
        if text.next_char():
            raise InvalidJson(json_limits.NOT_JSON)
        raise InvalidInput.of("body", "must be a JSON array of recipes")
    text.pos += 1
    return _json_elements(text)


def _json_elements(text: _JsonText) -> Iterator[Any]:
    if text.next_char() == "]":
        text.pos += 1
    else:
        while True:
            item = text.value()
            if isinstance(item, dict | list):
                json_limits.check_depth(item, above=1)
            yield item
            separator = text.next_char()
            text.pos += 1
            if separator == "]":
                break
            if separator != ",":
                raise InvalidJson(json_limits.NOT_JSON)
            text.next_char()
    if text.next_char():
        raise InvalidJson(json_limits.NOT_JSON)
