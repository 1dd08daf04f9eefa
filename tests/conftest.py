"""Fixtures: a real Redis, the app in sandbox mode, its test client and CLI runner.

``BFF_TEST_REDIS`` picks the Redis the whole suite runs on: ``single`` (default, one
throwaway redis-server) or ``cluster`` (a throwaway Redis Cluster: three masters, each with a
replica; the app gets a ``redis+cluster://`` URL). ``BFF_TEST_REDIS_URL`` names an existing
server instead (its database is flushed by the tests). In both modes every Lua script and
transaction must stay in one hash slot (``tests/slot_guard.py``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import requests

from bff.ground import store
from tests.redis_server import RedisClusterNodes, RedisServer
from tests.slot_guard import SlotGuard

pytest_plugins = ["tests.story"]  # the ``story`` fixture: one vocabulary for every test

MODE = os.environ.get("BFF_TEST_REDIS", "single")
if MODE not in ("single", "cluster"):
    raise pytest.UsageError("BFF_TEST_REDIS must be single or cluster")


# Deselected by a plain ``pytest`` (no -m, no --long, no paths): the deliberately long tests.
LONG = ("slow", "fuzz", "browser", "cluster")

# Modules whose use of Redis is nothing a cluster changes (HTTP validation, documents, crypto,
# the browser, the fuzzer, the JS client...): every other test is marked ``redis`` and runs in
# the cluster pass too (``BFF_TEST_REDIS=cluster pytest -m redis``). The slot guard still
# checks these modules' scripts and transactions in the single-server pass.
NOT_CLUSTER_SPECIFIC = {
    "tests/admin/test_errors.py",
    "tests/catalogue/test_card_data.py",
    "tests/membership/test_capabilities.py",
    "tests/sandbox/test_hostile_paths.py",
    "tests/sandbox/test_sim_input.py",
    "tests/sessions/test_auth_order.py",
    "tests/test_cors.py",
    "tests/test_dev.py",
    "tests/test_docs.py",
    "tests/test_fuzz.py",
    "tests/test_hostile_input.py",
    "tests/test_js_client.py",
    "tests/test_production_mode.py",
    "tests/test_spec.py",
    "tests/wechat/test_crypto.py",
    "tests/wechat/test_normalise_encrypt_code.py",
    "tests/wechat/test_signing.py",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--long", action="store_true",
                     help=f"also run the long tests ({', '.join(LONG)}), which a plain "
                          "`pytest` deselects")


def pytest_report_header() -> str:
    return f"redis: {MODE} ({os.environ.get('BFF_TEST_REDIS_URL') or 'throwaway'})"


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    url = os.environ.get("BFF_TEST_REDIS_URL", "")
    if url.startswith("redis+cluster://") and getattr(config.option, "numprocesses", None):
        # one existing cluster has one database: xdist workers would flush each other's keys
        config.option.numprocesses = 0
        config.option.dist = "no"


def _plain_run(config: pytest.Config) -> bool:
    """A plain ``pytest``: no -m, no --long, no paths (the long tests are left out)."""
    return not (config.option.markexpr or config.getoption("--long")
                or config.args_source != pytest.Config.ArgsSource.TESTPATHS)


# Modules all of whose tests are long, and whose collection is long itself: schemathesis builds
# every operation's cases while collecting (45 s of a plain run's 67 here, in each xdist
# worker). A plain run does not collect them; -m fuzz, --long and CI do.
LONG_MODULES = ("tests/test_fuzz.py",)


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if _plain_run(config) and any(collection_path == config.rootpath / module
                                  for module in LONG_MODULES):
        return True
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    root = config.rootpath
    for item in items:
        module = item.path.relative_to(root).as_posix()
        if module.startswith("tests/frontend/"):
            item.add_marker(pytest.mark.browser)
        if module not in NOT_CLUSTER_SPECIFIC and not module.startswith("tests/frontend/"):
            item.add_marker(pytest.mark.redis)
    if not _plain_run(config):
        return
    keep, dropped = [], []
    for item in items:
        (dropped if any(item.get_closest_marker(m) for m in LONG) else keep).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


def _worker_url(url: str) -> str:
    """Under xdist each worker gets its own database of an existing server (db + worker no.)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw") or url.startswith("redis+cluster://"):
        return url
    n = int(worker[2:])
    match = re.match(r"^(redis://[^/?#]*)(?:/(\d+))?(.*)$", url)
    if not match:
        return url
    return f"{match[1]}/{int(match[2] or 0) + n}{match[3]}"


def browser_unavailable(why: str) -> None:
    """Skip on a developer's machine; in CI a missing browser is a failure, never a skip."""
    if os.environ.get("CI"):
        pytest.fail(f"browser tests cannot run in CI: {why}")
    pytest.skip(why)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """Debian's chromium driven by Playwright (``BFF_TEST_CHROMIUM`` overrides the path), one
    per test process: Playwright's sync API refuses a second instance in the same thread, so
    every browser test (tests/frontend, the reviews') shares this one."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        browser_unavailable("playwright is not installed (pip install -e '.[test]')")
    executable = os.environ.get("BFF_TEST_CHROMIUM") or shutil.which("chromium")
    if not executable:
        browser_unavailable("no chromium on the PATH (apt-get install chromium)")
    with sync_playwright() as p:
        # --no-sandbox: CI runs as root, where chromium's own sandbox cannot start;
        # --disable-dev-shm-usage: a small /dev/shm (containers) must not crash the renderer.
        launched = p.chromium.launch(executable_path=executable,
                                     args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    url = os.environ.get("BFF_TEST_REDIS_URL")
    if url:
        yield _worker_url(url)
        return
    if MODE == "cluster":
        cluster = RedisClusterNodes().start()
        try:
            yield cluster.url
        finally:
            cluster.stop()
        return
    server = RedisServer().start()
    try:
        yield server.url
    finally:
        server.remove()


@pytest.fixture(scope="session", autouse=True)
def slot_guard() -> Iterator[SlotGuard]:
    """Installed for the whole run: a script or transaction over two hash slots fails."""
    server = RedisServer().start()  # COMMAND's key positions, from the same redis-server
    client = server.client()
    guard = SlotGuard(client)
    try:
        with guard.installed():
            yield guard
    finally:
        client.close()
        server.remove()


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    """The test Redis, flushed before and after (every master of a cluster)."""
    client = store.connect(redis_url, allow_embedded=False)
    client.flushdb()
    clear_process_caches()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture
def settings_overrides(redis_url: str) -> dict:
    """Settings for a sandbox-mode app on the test Redis; tests may extend it."""
    return {"sandbox": True, "redis_url": redis_url}


def clear_process_caches() -> None:
    """Module-level caches that would outlive a flushed Redis."""
    from bff.domain import catalogue, profiles

    catalogue.clear_caches()
    profiles.clear_caches()


def _shape(app: Any) -> tuple:
    """What a test may add to an app that a reset cannot take back (routes, hooks, handlers)."""

    def filled(value: Any) -> Any:  # Flask's hook registries are defaultdicts: reads add keys
        if isinstance(value, dict):
            items = [(repr(k), filled(v)) for k, v in value.items()]
            return [(k, v) for k, v in items if v]
        return repr(value) if value else None

    hooks = (app.before_request_funcs, app.after_request_funcs, app.teardown_request_funcs,
             app.teardown_appcontext_funcs, app.url_value_preprocessors,
             app.url_default_functions, app.template_context_processors,
             app.error_handler_spec)
    return (tuple(sorted(app.view_functions)), len(list(app.url_map.iter_rules())),
            tuple(app.blueprints), id(vars(app).get("wsgi_app")),
            tuple(getattr(app, "direct_routes", ())),
            [filled(h) for h in hooks])


class CachedApp:
    """An app built once per set of settings, put back as built before each test that reuses it.

    Reset: app.config, app.extensions, the services (clock, settings, extras), the WeChat
    client's attributes, the credentials' in-process tokens and tickets, the session cache, and
    the module-level caches (profiles, catalogue); Redis is flushed by ``redis_client``. A test
    that changed the app's routes or hooks makes the next test build a new one.
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self.apps = [app] + ([app.extensions["bff_sandbox"]]
                             if "bff_sandbox" in app.extensions else [])
        self.configs = [dict(a.config) for a in self.apps]
        self.extensions = [dict(a.extensions) for a in self.apps]
        self.shapes = [_shape(a) for a in self.apps]
        svc = app.extensions["bff"]
        self.extras = dict(svc.extras)
        objects = self._objects()
        self.attrs = [(obj, dict(vars(obj))) for obj in objects]
        sessions = {id(o): o for obj in objects for o in vars(obj).values()
                    if isinstance(o, requests.Session)}
        self.adapters = [(s, dict(s.adapters), dict(s.headers)) for s in sessions.values()]

    def _objects(self) -> list[Any]:
        """The services and the WeChat client's parts (a test may replace their attributes or
        mount an adapter on their sessions)."""
        svc = self.app.extensions["bff"]
        wechat = svc.wechat
        objects = [svc, wechat, wechat.client]
        creds = getattr(wechat.client, "credentials", None)
        if creds is not None:
            objects += [creds, creds.source, creds.store]
            objects += [o for o in vars(creds.source).values() if hasattr(o, "session")]
        if "bff_sandbox" in self.app.extensions:
            objects += [o for o in self.app.extensions["bff_sandbox"].extensions.values()
                        if hasattr(o, "push_session")]
        return objects

    def intact(self) -> bool:
        return [_shape(a) for a in self.apps] == self.shapes

    def reset(self) -> None:
        for a, config, extensions in zip(self.apps, self.configs, self.extensions, strict=True):
            a.config.clear()
            a.config.update(config)
            a.extensions.clear()
            a.extensions.update(extensions)
        for obj, attrs in self.attrs:
            vars(obj).clear()
            vars(obj).update(attrs)
        for session, adapters, headers in self.adapters:
            session.adapters.clear()
            session.adapters.update(adapters)
            session.headers.clear()
            session.headers.update(headers)
        svc = self.app.extensions["bff"]
        svc.extras.clear()
        svc.extras.update(self.extras)
        creds = getattr(svc.wechat.client, "credentials", None)
        if creds is not None:
            creds._local.clear()
            creds._direct_fetch_at.clear()
        cache = svc.extras.get("session_cache")
        if cache is not None:
            with cache._lock:
                cache._entries.clear()
                cache.hits = cache.misses = 0


_APPS: dict[str, CachedApp] = {}


def _build(settings_overrides: dict) -> Any:
    from bff import create_app

    app = create_app(settings_overrides)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def fresh_app(redis_client: redis.Redis, settings_overrides: dict):
    """An app of its own, never reused: for a test that adds routes or hooks, or changes the
    app beyond what the reset between tests puts back. Asking for it makes ``app`` (and
    ``client``, ``story``...) this app."""
    yield _build(settings_overrides)


@pytest.fixture
def app(request: pytest.FixtureRequest, redis_client: redis.Redis, settings_overrides: dict):
    """The sandbox-mode app for ``settings_overrides``: built once per set of settings and
    reused, reset between tests (``CachedApp``)."""
    if "fresh_app" in request.fixturenames:
        yield request.getfixturevalue("fresh_app")
        return
    key = json.dumps(settings_overrides, sort_keys=True, default=repr)
    cached = _APPS.get(key)
    if cached is None:
        cached = _APPS[key] = CachedApp(_build(settings_overrides))
    else:
        cached.reset()
    yield cached.app
    if not cached.intact():
        del _APPS[key]


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def standalone_wechat(redis_client: redis.Redis, redis_url: str) -> Iterator[str]:
    """A standalone sandbox on a free port, with the sandbox's settings: the WeChat a service
    (or the installed ``bff``) built from BFF_* variables calls over real HTTP. Its base URL."""
    from bff.ground import config as c
    from bff.sandbox import SandboxConfig
    from bff.sandbox.server import serve_in_thread

    base, shutdown = serve_in_thread(redis_url, SandboxConfig(
        oa_appid=c.SANDBOX_APPID, oa_secret=c.SANDBOX_SECRET, mp_appid=c.SANDBOX_MP_APPID,
        mp_secret=c.SANDBOX_MP_SECRET, push_token=c.SANDBOX_PUSH_TOKEN,
        push_aes_key=c.SANDBOX_PUSH_AES_KEY))
    try:
        yield base
    finally:
        shutdown()
