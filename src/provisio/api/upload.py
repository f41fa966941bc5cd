"""Receiving a bulk upload whole, into a temporary file, before any work on it starts."""

import tempfile
from typing import IO

from fastapi import Request
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

SPOOL_IN_MEMORY = 1_048_576
"""Uploads up to this many bytes stay in memory; larger ones go to a temporary file."""


async def spool(request: Request) -> IO[bytes]:
    """The request body, received completely and rewound.

    No transaction is open and no pooled connection is held while the client sends: a slow or
    stalled upload keeps nothing but its own file waiting (the size limit is `BodyLimits`').
    A client that leaves before its last byte gets a 400 it will not read; nothing is stored
    and nothing is logged as a crash.
    """
    upload = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115
    try:
        async for chunk in request.stream():
            upload.write(chunk)
    except ClientDisconnect:
        upload.close()
        raise HTTPException(400, "the upload ended before its last byte") from None
    except BaseException:
        upload.close()
        raise
    upload.seek(0)
    return upload
