"""Path templates: a `{uid}` segment matches only a uid (32 lowercase hex characters).

Anything else in its place names no route: 404 like any unknown path (405 where another method
has that path, as `PUT …/bulk`), and no other value, U+0000 included, reaches a handler.
"""

from typing import Annotated

from fastapi import Path
from starlette.convertors import Convertor, register_url_convertor


class _UidConvertor(Convertor[str]):
    regex = "[0-9a-f]{32}"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("uid", _UidConvertor())

UID = "/{uid:uid}"
"""The path segment of a resource's uid, for route templates."""

TAG_UID = "{tagUid:uid}"
LOCATION_UID = "{locationUid:uid}"
POLICY_UID = "{policyUid:uid}"
"""Path segments naming a registry entry beside the resource's own uid, camelCase as in
signageOS's paths (`/v1/device/{uid}/location/{locationUid}`)."""
TagUid = Annotated[str, Path(alias="tagUid")]
LocationUid = Annotated[str, Path(alias="locationUid")]
PolicyUid = Annotated[str, Path(alias="policyUid")]
