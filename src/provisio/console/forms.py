"""From HTML forms to the API's request bodies, and from the API's refusals back to messages
next to the fields.

Form fields carry the API's own (camelCase) names, so a refusal's `field` names the input it
belongs to. An empty field is an absent one, as an empty CSV cell is.
"""

from collections import defaultdict
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from provisio.api.errors import problems_from
from provisio.domain.errors import DomainError, FieldProblem, InvalidInput

Model = TypeVar("Model", bound=BaseModel)

FieldErrors = dict[str, list[str]]
"""Messages by field name; "" holds those that belong to no field of the form."""


def text(form: FormData, name: str) -> str | None:
    """The field's text, or None when it is empty or missing (a file is not text)."""
    value = form.get(name)
    return value if isinstance(value, str) and value != "" else None


def texts(form: FormData, name: str) -> list[str]:
    """Every non-empty value of a repeated field (a multiple select)."""
    return [value for value in form.getlist(name) if isinstance(value, str) and value != ""]


def checked(form: FormData, name: str) -> bool:
    return form.get(name) is not None


def present(**fields: Any) -> dict[str, Any]:
    """The fields that have a value: a create body leaves the others out."""
    return {name: value for name, value in fields.items() if value is not None}


def validated(model: type[Model], body: dict[str, Any]) -> Model:
    """`body` checked by the API's own request model, refused with the API's own messages."""
    try:
        return model.model_validate(body)
    except ValidationError as error:
        raise InvalidInput("the request is invalid", problems_from(error.errors())) from None


def field_errors(error: DomainError, fields: set[str] | frozenset[str]) -> FieldErrors:
    """A refusal's messages by the form field they belong to; a problem about a field the
    form does not have, or a refusal without details, goes under "" (shown above the form)."""
    messages: FieldErrors = defaultdict(list)
    problems = error.details or [FieldProblem("", error.message)]
    for problem in problems:
        name = _form_field(problem.field, fields)
        messages[name or ""].append(problem.message if name else _whole(problem))
    return dict(messages)


def _form_field(field: str, fields: set[str] | frozenset[str]) -> str | None:
    """The form field a problem's `field` belongs to: the longest dotted prefix the form has
    (`tagUids.0` → `tagUids`; `config.url` → `config.url` for a form with a nested field)."""
    parts = field.split(".")
    for end in range(len(parts), 0, -1):
        name = ".".join(parts[:end])
        if name in fields:
            return name
    return None


def _whole(problem: FieldProblem) -> str:
    return f"{problem.field}: {problem.message}" if problem.field else problem.message
