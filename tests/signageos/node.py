"""signageOS's published JavaScript client, installed with npm into a cache and run with node.

`@signageos/sdk` 2.11.0 loads `lodash` at run time without declaring it, so both are installed,
at pinned versions, into `$XDG_CACHE_HOME/provisio/signageos-sdk-2.11.0` (or the directory
`PROVISIO_TEST_NPM_DIR` names) once; later runs reuse it. Without node or npm the tests skip,
except under `CI=true`, where they fail: CI installs node (`.ci/run`).
"""

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from tests.support import missing_tool

SDK = "@signageos/sdk@2.11.0"
LODASH = "lodash@4.17.21"
SCENARIOS = Path(__file__).with_name("scenarios.cjs")
INSTALL_DEADLINE = 600
RUN_DEADLINE = 120


def _missing(what: str) -> None:
    missing_tool(f"{what} is not installed: the signageOS SDK tests need node and npm")


def _cache() -> Path:
    configured = os.environ.get("PROVISIO_TEST_NPM_DIR")
    if configured:
        return Path(configured)
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "provisio" / "signageos-sdk-2.11.0"


def install_sdk() -> Path:
    """The `node_modules` directory holding the SDK and lodash, installed if need be."""
    for program in ("node", "npm"):
        if shutil.which(program) is None:
            _missing(program)
    directory = _cache()
    installed = directory / "installed.json"
    wanted = [SDK, LODASH]
    if installed.exists() and json.loads(installed.read_text()) == wanted:
        return directory / "node_modules"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "package.json").write_text('{"name": "provisio-sdk-tests", "private": true}\n')
    done = subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", "--save-exact", *wanted],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=INSTALL_DEADLINE,
        check=False,
    )
    assert done.returncode == 0, f"npm install failed:\n{done.stdout}\n{done.stderr}"
    installed.write_text(json.dumps(wanted))
    return directory / "node_modules"


def run_node(node_modules: Path, args: list[str], environment: dict[str, str]) -> str:
    """`node ARGS…` with the SDK on its module path; returns what it printed."""
    done = subprocess.run(
        ["node", *args],
        capture_output=True,
        text=True,
        env={
            **os.environ,
            **environment,
            "NODE_PATH": str(node_modules),
            "SOS_SKIP_DOTENV": "1",  # no ~/.sosrc, .env or SOS_* variables: only what we pass
        },
        timeout=RUN_DEADLINE,
        check=False,
    )
    assert done.returncode == 0, f"node {args} failed:\n{done.stderr}\n{done.stdout}"
    return done.stdout


def run_scenario(node_modules: Path, scenario: str, config: dict[str, Any]) -> Any:
    """Run one scenario of `scenarios.cjs` (its asserts are node's); returns the summary it
    printed."""
    printed = run_node(
        node_modules, [str(SCENARIOS), scenario], {"PROVISIO_SDK_CONFIG": json.dumps(config)}
    )
    return json.loads(printed)
