"""The operators' console is served in production as in sandbox mode, from the package alone,
under a strict Content-Security-Policy, with its charting library vendored from the pinned npm
package, byte for byte. (What it does in a browser: tests/frontend/test_console.py.)"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bff import create_app
from bff.edges.console import STATIC
from bff.ground import config as c

REPO = Path(__file__).resolve().parents[1]
VENDORED = STATIC / "vendor" / "chart.umd.min.js"
NPM_CHART = REPO / "node_modules" / "chart.js"


def production(redis_url: str):
    return create_app({
        "sandbox": False, "redis_url": redis_url, "appid": c.SANDBOX_APPID,
        "secret": c.SANDBOX_SECRET, "miniprogram_appid": c.SANDBOX_MP_APPID,
        "miniprogram_secret": c.SANDBOX_MP_SECRET, "push_token": c.SANDBOX_PUSH_TOKEN,
        "push_aes_key": c.SANDBOX_PUSH_AES_KEY, "admin_token": "a" * 32,
        "data_key": c.SANDBOX_DATA_KEY}).test_client()


def test_the_console_is_served_in_production_mode_with_its_policy(redis_url):
    client = production(redis_url)

    def get(path: str) -> tuple[int, str, dict[str, str]]:
        with client.get(path) as answer:  # closes the file a static answer streams
            return answer.status_code, answer.mimetype, dict(answer.headers)

    status, mimetype, headers = get("/console/")
    assert status == 200 and mimetype == "text/html"
    assert get("/demo/")[0] == 404  # the demo stays sandbox-only
    policy = headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy
    assert "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
    for asset in ("app.js", "api.js", "console.css", "pages/counter.js",
                  "vendor/chart.umd.min.js"):
        status, _, headers = get(f"/console/{asset}")
        assert status == 200, asset
        assert headers["Content-Security-Policy"] == policy
    assert get("/console")[0] in (301, 308)  # to /console/
    assert get("/console/../bff/__init__.py")[0] == 404


def test_the_console_page_has_no_inline_script_and_nothing_from_elsewhere():
    html = (STATIC / "index.html").read_text("utf-8")
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)  # every script is a file
    assert not re.search(r"<[^>]+\son[a-z]+=", html)  # no inline handlers either
    own = [p for p in STATIC.rglob("*") if p.is_file() and "vendor" not in p.parts]
    for path in own:
        text = path.read_text("utf-8")
        assert not re.search(r"https?://", text), f"{path.name} names another origin"
        assert "innerHTML" not in text and "eval(" not in text, path.name


def test_the_package_data_ships_the_console():
    import tomllib

    data = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))
    globs = data["tool"]["setuptools"]["package-data"]["bff"]
    package = REPO / "bff"
    shipped = {p for g in globs for p in package.glob(g) if p.is_file()}
    console = {p for p in STATIC.rglob("*") if p.is_file()}
    assert console <= shipped, sorted(str(p) for p in console - shipped)


def test_the_vendored_chart_library_is_the_pinned_npm_release_byte_for_byte():
    pinned = json.loads((REPO / "package.json").read_text("utf-8"))["devDependencies"]["chart.js"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", pinned), "pin chart.js to an exact version"
    assert f"Chart.js v{pinned}\n" in VENDORED.read_text("utf-8")[:200]
    if not NPM_CHART.is_dir():
        import os

        if os.environ.get("CI"):
            pytest.fail("node_modules/chart.js is missing: npm ci at the repository root")
        pytest.skip("node_modules/chart.js is missing (npm ci at the repository root)")
    installed = json.loads((NPM_CHART / "package.json").read_text("utf-8"))["version"]
    assert installed == pinned, "npm ci: node_modules holds another chart.js than the pin"
    assert VENDORED.read_bytes() == (NPM_CHART / "dist" / "chart.umd.min.js").read_bytes(), (
        "run node scripts/vendor-console.mjs")
    assert (STATIC / "vendor" / "chart.js.LICENSE.md").read_bytes() == (
        NPM_CHART / "LICENSE.md").read_bytes()
