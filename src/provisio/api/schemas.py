"""Wire models of the REST API: strict requests (no coercion, no unknown fields) and responses."""

import math
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
)
from pydantic.alias_generators import to_camel
from pydantic.json_schema import JsonSchemaValue, SkipJsonSchema
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

from provisio.api.errors import PATTERN_MESSAGES
from provisio.domain.events import Event
from provisio.domain.identifiers import MAC_HINT
from provisio.domain.recipe import MAX_TAGS, MAX_TEXT, Recipe
from provisio.domain.registry import MAX_NOTE
from provisio.domain.status import RecipeStatus

UID_RE = r"^[0-9a-f]{32}$"
MAC_RE = (
    r"^(?:[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}|[0-9A-Fa-f]{2}(?:-[0-9A-Fa-f]{2}){5}"
    r"|[0-9A-Fa-f]{4}(?:\.[0-9A-Fa-f]{4}){2}|[0-9A-Fa-f]{12})$"
)
NON_BLANK_RE = r"\S"
PATTERN_MESSAGES.update(
    {
        UID_RE: "must be a uid of 32 lowercase hex characters",
        MAC_RE: MAC_HINT,
        NON_BLANK_RE: "must not be blank",
    }
)


def _refuse_unstorable(value: Any) -> Any:
    # PostgreSQL cannot store U+0000, and half a UTF-16 pair cannot be encoded at all: refused
    # here, naming the field, instead of failing in the database driver.
    if isinstance(value, str) and ("\x00" in value or not _encodable(value)):
        raise PydanticCustomError(
            "unstorable_character", "must not contain U+0000 or an unpaired surrogate"
        )
    return value


def _encodable(value: str) -> bool:
    if value.isascii():
        return True
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


STORABLE = BeforeValidator(_refuse_unstorable)
"""The last annotation of every string a request carries (body, query or path), so that no
request string reaches the database with a character it cannot store."""

StorableStr = Annotated[str, STORABLE]
Uid = Annotated[str, StringConstraints(pattern=UID_RE), STORABLE]
Text = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_TEXT, pattern=NON_BLANK_RE), STORABLE
]
Mac = Annotated[str, StringConstraints(pattern=MAC_RE), STORABLE]
Timestamp = Annotated[
    datetime,
    PlainSerializer(
        lambda moment: moment.astimezone(UTC).isoformat(timespec="milliseconds")[:-6] + "Z",
        return_type=str,
    ),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
"""A date as signageOS sends it: UTC, three fraction digits, `Z`."""
TagList = Annotated[list[Uid], Field(max_length=MAX_TAGS)]
Note = Annotated[str, StringConstraints(max_length=MAX_NOTE), STORABLE]
"""Free text, which may be empty."""


def _storable_json(value: Any) -> Any:
    # Level by level without recursion; the request parser already bounds the depth.
    pending = [value]
    while pending:
        item = pending.pop()
        if type(item) is dict:
            pending.extend(item)
            pending.extend(item.values())
        elif type(item) is list:
            pending.extend(item)
        elif type(item) is str:
            _refuse_unstorable(item)
        elif type(item) is float and not math.isfinite(item):  # 1e999 parses as infinity
            raise PydanticCustomError("finite_number", "numbers must be finite")
    return value


JsonValue = Annotated[Any, AfterValidator(_storable_json)]
"""Any JSON value, stored as sent: its strings (keys too) storable, its numbers finite."""


def _not_null(value: Any) -> Any:
    # Defaults are not validated, so this sees only a value the client sent.
    if value is None:
        raise PydanticCustomError("null_forbidden", "must not be null")
    return value


class _Omittable:
    """`Annotated[X | None, OMITTABLE]`: a field that may be omitted but not sent as null (a
    422 naming it, as the schema says), shown in the schema as plain `X` — for any `X`, models
    and lists of models included. (`X | SkipJsonSchema[None]` would make pydantic report union
    branches such as `confirmedOwnership.bool` as field names.)"""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return core_schema.no_info_after_validator_function(_not_null, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        shown = handler(schema)
        others = [branch for branch in shown.get("anyOf", []) if branch != {"type": "null"}]
        return others[0] if len(others) == 1 else shown


OMITTABLE = _Omittable()
OmittableBool = Annotated[bool | None, OMITTABLE]
OmittableText = Annotated[Text | None, OMITTABLE]
OmittableUid = Annotated[Uid | None, OMITTABLE]


class RequestBody(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", alias_generator=to_camel)

    def sent(self) -> dict[str, Any]:
        """Only the fields the client sent, under their wire names."""
        return self.model_dump(by_alias=True, exclude_unset=True)


class ResponseBody(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


def _is_none(value: Any) -> bool:
    return value is None


LEFT_OUT_WHEN_NONE = Field(exclude_if=_is_none)
"""`Annotated[X | SkipJsonSchema[None], LEFT_OUT_WHEN_NONE] = None`: an optional response
field that is absent while it has no value, without `response_model_exclude_none`, which would
also drop a required field whose JSON value is null."""


class RecipeFields(RequestBody):
    """Fields a client may set; on PUT `null` clears an optional one."""

    model: Text | None = None
    serial_number: Text | None = None
    mac_address: Mac | None = None
    device_name: Text | None = None
    tag_uids: TagList | None = None
    policy_uid: Uid | None = None
    location_uid: Uid | None = None
    confirmed_ownership: OmittableBool = None


class RecipeCreate(RecipeFields):
    brand: Text
    organization_uid: OmittableUid = None


class RecipeUpdate(RecipeFields):
    brand: OmittableText = None


class RegisterWarningOut(ResponseBody):
    warning_message: str


class RecipeOut(ResponseBody):
    uid: str
    organization_uid: str
    status: RecipeStatus
    brand: str
    model: str | SkipJsonSchema[None] = None
    serial_number: str | SkipJsonSchema[None] = None
    mac_address: str | SkipJsonSchema[None] = None
    device_name: str | SkipJsonSchema[None] = None
    tag_uids: list[str]
    policy_uid: str | SkipJsonSchema[None] = None
    location_uid: str | SkipJsonSchema[None] = None
    confirmed_ownership: bool
    error_message: str | SkipJsonSchema[None] = None
    unsuccessful_register_attempt_status: RegisterWarningOut | SkipJsonSchema[None] = None
    device_uid: str | SkipJsonSchema[None] = None
    created_at: Timestamp
    updated_at: Timestamp

    @classmethod
    def of(cls, recipe: Recipe) -> "RecipeOut":
        spec = recipe.spec
        warning = recipe.warning_message
        return cls(
            uid=recipe.uid,
            organization_uid=recipe.organization_uid,
            status=recipe.status,
            brand=spec.brand,
            model=spec.model,
            serial_number=spec.serial_number,
            mac_address=spec.mac_address,
            device_name=spec.device_name,
            tag_uids=list(spec.tag_uids),
            policy_uid=spec.policy_uid,
            location_uid=spec.location_uid,
            confirmed_ownership=spec.confirmed_ownership,
            error_message=recipe.error_message,
            unsuccessful_register_attempt_status=(
                RegisterWarningOut(warning_message=warning) if warning else None
            ),
            device_uid=recipe.device_uid,
            created_at=recipe.created_at,
            updated_at=recipe.updated_at,
        )


class BulkFailure(ResponseBody):
    row: int
    field: str
    message: str


class BulkOut(ResponseBody):
    created: int
    uids: list[str]
    failed: list[BulkFailure] = Field(
        description="The problems of the first 1,000 refused rows, in row order"
    )
    failed_count: int = Field(description="How many rows were refused in all")


class OrganizationCreate(RequestBody):
    name: Text
    title: OmittableText = Field(default=None, description="Defaults to `name`")


class OrganizationUpdate(RequestBody):
    title: Text


class OrganizationOut(ResponseBody):
    """`name` is fixed at creation; `title` is the name shown to people."""

    uid: str
    name: str
    title: str
    company_uid: str
    created_at: Timestamp


class SecurityTokenCreate(RequestBody):
    name: Text


class SecurityTokenOut(ResponseBody):
    """`X-Auth` for this token is `<id>:<securityToken>`; the secret is shown only here."""

    id: str
    name: str
    security_token: str


class SecurityTokenListed(ResponseBody):
    """A token as listed: never its secret (only a hash of it is stored)."""

    id: str
    name: str
    organization_uid: str
    created_at: Timestamp


class FeedItem(BaseModel):
    position: int
    event: Event
