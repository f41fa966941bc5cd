"""Log lines and tracebacks never show local variables, where secrets live."""

import json

import pytest
import structlog

from provisio.logs import LogFormat, configure_logging

SECRET = "whsec-never-in-a-log-0123456789abcdef"


def _fail_holding_a_secret() -> None:
    secret = SECRET
    raise RuntimeError(f"a failure next to a secret of {len(secret)} characters")


@pytest.mark.parametrize("log_format", ["console", "json"])
def test_a_logged_traceback_shows_no_local_variables(
    log_format: LogFormat, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(log_format)
    try:
        _fail_holding_a_secret()
    except RuntimeError:
        structlog.get_logger("test").exception("dispatcher.bookkeeping_failed")
    out = capsys.readouterr().out
    assert "_fail_holding_a_secret" in out, out  # the traceback is there
    assert "characters" in out
    assert SECRET not in out
    if log_format == "json":
        assert json.loads(out)["event"] == "dispatcher.bookkeeping_failed"
