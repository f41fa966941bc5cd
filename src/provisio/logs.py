"""Logging, configured once per process: JSON lines or a console rendering, and tracebacks
that never show local variables (they hold exporter secrets and tokens)."""

from typing import Literal

import structlog
from structlog.typing import Processor

LogFormat = Literal["console", "json"]


def configure_logging(log_format: LogFormat) -> None:
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: list[Processor]
    if log_format == "json":
        no_locals = structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
        renderer = [
            structlog.processors.ExceptionRenderer(no_locals),
            structlog.processors.JSONRenderer(),
        ]
    else:
        plain = structlog.dev.RichTracebackFormatter(show_locals=False, color_system=None)
        renderer = [structlog.dev.ConsoleRenderer(colors=False, exception_formatter=plain)]
    structlog.configure(processors=[*shared, *renderer], cache_logger_on_first_use=False)
