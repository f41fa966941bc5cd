"""Logging, configured once per process: JSON lines or a console rendering, and tracebacks
that never show local variables (they hold exporter secrets and tokens)."""

import sys
from typing import Literal

import structlog
from structlog.typing import Processor

LogFormat = Literal["console", "json"]


def _to_standard_error(*_: object) -> structlog.PrintLogger:
    # Whatever `sys.stderr` is when the line is logged (a test may have replaced it since).
    return structlog.PrintLogger(sys.stderr)


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
    structlog.configure(
        processors=[*shared, *renderer],
        # Standard error, as logs go: standard output is what a command prints (`events tail`
        # prints events there, one JSON document per line).
        logger_factory=_to_standard_error,
        cache_logger_on_first_use=False,
    )
