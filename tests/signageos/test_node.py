"""Without node or npm the SDK tests skip on a developer's machine and fail under CI."""

from pathlib import Path

import pytest

from tests.signageos.node import install_sdk


def test_without_node_ci_fails_and_a_developer_is_told_why(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: no node, no npm
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="node is not installed"):
        install_sdk()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="node is not installed"):
        install_sdk()
