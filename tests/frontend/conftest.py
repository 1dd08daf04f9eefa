"""Browser fixtures: the app on a real port, Debian's chromium driven by Playwright, offline.

Playwright never downloads a browser here: it launches the system ``chromium``
(``BFF_TEST_CHROMIUM`` overrides the path). Without chromium, Playwright or the npm JS-SDK the
browser tests skip on a developer's machine, and fail under CI (``CI`` set).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server

from bff.edges.demo import JSSDK_FILE
from tests.conftest import browser_unavailable

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "artifacts" / "screenshots"
PHONE = {"width": 390, "height": 780}
LAPTOP = {"width": 1280, "height": 860}
LOCAL_HOSTS = ("127.0.0.1", "localhost")


@pytest.fixture(scope="session")
def browser(chromium: Any) -> Any:
    """The run's chromium (``tests/conftest.py``), once the demo's JS-SDK is there."""
    if not JSSDK_FILE.is_file():
        browser_unavailable("the npm weixin-js-sdk is not installed (npm ci at the repository "
                            "root)")
    return chromium


@contextmanager
def serving(app: Any, port: int = 0) -> Iterator[str]:
    """``app`` on a loopback port, with the event worker ``bff dev`` runs; yields its base URL."""
    from bff.edges.events import start_worker_thread

    server = make_server("127.0.0.1", port, app, threaded=True, request_handler=Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    worker, stop = start_worker_thread(app)
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        stop.set()
        server.shutdown()
        server.server_close()
        thread.join(5)
        worker.join(5)


class Quiet(WSGIRequestHandler):
    """No request log: query strings can carry tokens, and the log drowns test output."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def live_server(app) -> Iterator[str]:
    with serving(app) as base:
        yield base


@dataclass
class Browsing:
    """A phone-sized page plus what it tried to fetch from outside and the errors it logged."""

    page: Any
    base: str
    outside: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def goto(self, path: str) -> None:
        self.page.goto(self.base + path)

    def screenshot(self, name: str, full_page: bool = True) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        return path


@pytest.fixture
def browsing(browser, live_server: str) -> Iterator[Browsing]:
    with browsing_at(browser, live_server) as seen:
        yield seen


@contextmanager
def browsing_at(browser: Any, base: str, *, laptop: bool = False,
                timezone_id: str | None = None) -> Iterator[Browsing]:
    """A fresh phone-sized (or ``laptop``) browser context on ``base``, in the machine's time
    zone or ``timezone_id``; only loopback hosts are reachable."""
    zone = {"timezone_id": timezone_id} if timezone_id else {}
    context = (browser.new_context(viewport=LAPTOP, **zone) if laptop else
               browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, **zone))
    page = context.new_page()
    page.set_default_timeout(15000)
    seen = Browsing(page=page, base=base)

    def only_loopback(route: Any) -> None:
        if urlsplit(route.request.url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:  # no network: anything from outside is recorded and refused
            seen.outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_loopback)
    page.on("pageerror", lambda e: seen.errors.append(str(e)))
    try:
        yield seen
    finally:
        context.close()
