"""JSON request bodies within limits: at most 64 levels of nesting, numbers of at most 100 digits.

Python's parser would otherwise recurse until it fails (a 10,000-deep body) or spend quadratic
time on a huge integer; both are refused as 400, like malformed JSON. `loads` is the one parser
of request bodies; `JsonRoute` makes FastAPI use it for every JSON body it parses.
"""

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

MAX_DEPTH = 64
MAX_DIGITS = 100


class InvalidJson(HTTPException):
    """A body that is not JSON, or is JSON beyond the limits: always a 400."""

    def __init__(self, message: str) -> None:
        super().__init__(400, message)


NOT_JSON = "the request body is not valid JSON"
TOO_DEEP = f"the request body is nested deeper than {MAX_DEPTH} levels"
TOO_LONG = f"the request body has a number longer than {MAX_DIGITS} digits"


def _digits(literal: str) -> str:
    if len(literal) > MAX_DIGITS and sum(c.isdigit() for c in literal) > MAX_DIGITS:
        raise InvalidJson(TOO_LONG)
    return literal


def _integer(literal: str) -> int:
    return int(_digits(literal))


def _float(literal: str) -> float:
    return float(_digits(literal))


def _constant(name: str) -> Any:
    raise InvalidJson(NOT_JSON)  # NaN and Infinity are Python's extension, not JSON


def check_depth(value: dict[str, Any] | list[Any], above: int = 0) -> None:
    """Level by level, without recursion, so a deep value cannot exhaust the stack here either.
    `above`: the levels the value sits in (1 for an element of a top-level array)."""
    level: list[Any] = [value]
    for _ in range(MAX_DEPTH - above):
        level = [
            child
            for item in level
            for child in (item.values() if type(item) is dict else item)
            if type(child) is dict or type(child) is list
        ]
        if not level:
            return
    raise InvalidJson(TOO_DEEP)


DECODER = json.JSONDecoder(parse_int=_integer, parse_float=_float, parse_constant=_constant)
"""JSON as RFC 8259 has it, with the number limit; `loads` adds the depth limit (streaming
readers call `check_depth` on what they decode)."""


def loads(raw: bytes) -> Any:
    """The parsed body; raises `InvalidJson` (400) for anything malformed or beyond the limits."""
    try:
        value = DECODER.decode(raw.decode(json.detect_encoding(raw), "surrogatepass"))
    except RecursionError:
        raise InvalidJson(TOO_DEEP) from None
    except ValueError:  # JSONDecodeError and undecodable bytes alike
        raise InvalidJson(NOT_JSON) from None
    if type(value) is dict or type(value) is list:
        check_depth(value)
    return value


class _LimitedJsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = loads(await self.body())
        return self._json


class JsonRoute(APIRoute):
    """A route whose JSON body FastAPI parses with `loads` (the documented custom-route hook)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def limited(request: Request) -> Response:
            return await handle(_LimitedJsonRequest(request.scope, request.receive))

        return limited
