"""The JS client's own tests (node's built-in runner) run as part of the one test command."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# node and tsc as subprocesses
pytestmark = pytest.mark.slow

CLIENT = Path(__file__).resolve().parent.parent / "clients" / "js"


def test_js_client_node_tests_pass() -> None:
    node = shutil.which("node")
    assert node, "node is needed for clients/js (CI installs it: apt-get install nodejs)"
    bff = Path(sys.executable).with_name("bff")  # the `bff dev` of this interpreter's install
    env = {**os.environ, "BFF_BIN": str(bff)}
    done = subprocess.run(
        [node, "--test", "test/"], cwd=CLIENT, env=env, capture_output=True, text=True,
        timeout=300,
    )
    report = done.stdout + done.stderr
    counts = dict(re.findall(r"^# (pass|fail|skipped|todo|cancelled) (\d+)$", report, re.M))
    assert done.returncode == 0, report[-6000:]
    assert int(counts.get("pass", 0)) > 0, report[-2000:]
    assert counts.get("fail") == "0" and counts.get("skipped") == "0", report[-2000:]
    assert counts.get("cancelled") == "0" and counts.get("todo") == "0", report[-2000:]
