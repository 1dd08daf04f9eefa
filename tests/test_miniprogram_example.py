"""The example Mini Program (examples/miniprogram): its copy of the client is the client, and its
pages pass their Node tests (miniprogram-simulate against a real `bff dev`), as part of the one
test command."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "miniprogram"
CLIENT = REPO / "clients" / "js"


def test_the_example_s_client_is_a_verbatim_copy_of_clients_js() -> None:
    script = (CLIENT / "scripts" / "copy-client.mjs").read_text()
    runtime = re.search(r"RUNTIME_FILES = \[([^\]]*)\]", script)
    assert runtime, "copy-client.mjs lists RUNTIME_FILES"
    names = re.findall(r"'([^']+)'", runtime.group(1))
    assert "index.js" in names and "storage.js" in names
    copy = EXAMPLE / "lib" / "bff-client"
    assert sorted(p.name for p in copy.iterdir()) == sorted(names)
    for name in names:
        assert (copy / name).read_bytes() == (CLIENT / name).read_bytes(), (
            f"examples/miniprogram/lib/bff-client/{name} is not clients/js/{name}: "
            "run node clients/js/scripts/copy-client.mjs")


@pytest.mark.slow
def test_example_pages_in_miniprogram_simulate_against_bff_dev() -> None:
    node = shutil.which("node")
    assert node, "node is needed for examples/miniprogram (CI installs it: apt-get install nodejs)"
    assert (EXAMPLE / "node_modules" / "miniprogram-simulate").is_dir(), (
        "run `npm ci` in examples/miniprogram (the README's test command and .ci/run do)")
    bff = Path(sys.executable).with_name("bff")  # the `bff dev` of this interpreter's install
    done = subprocess.run(
        [node, "--test", "test/"], cwd=EXAMPLE, env={**os.environ, "BFF_BIN": str(bff)},
        capture_output=True, text=True, timeout=300,
    )
    report = done.stdout + done.stderr
    counts = dict(re.findall(r"^# (pass|fail|skipped|todo|cancelled) (\d+)$", report, re.M))
    assert done.returncode == 0, report[-6000:]
    assert int(counts.get("pass", 0)) >= 4, report[-2000:]
    assert counts.get("fail") == "0" and counts.get("skipped") == "0", report[-2000:]
    assert counts.get("cancelled") == "0" and counts.get("todo") == "0", report[-2000:]
