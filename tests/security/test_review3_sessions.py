"""Review 3 (attacker's eye): the console session cookie and idle expiry.

These tests fail on the code as reviewed; each passes once its finding is fixed
(tests/security/REVIEW3.md).
"""

from __future__ import annotations

import pytest
import requests

from bff.ground.config import SANDBOX_ADMIN_TOKEN
from tests.frontend.conftest import browsing_at, serving

SESSION = "/v1/admin/session"


def _cookie(response) -> str:
    [header] = [h for h in response.headers.getlist("Set-Cookie")
                if h.startswith("bff_console=")]
    return header


@pytest.fixture
def behind_one_proxy(settings_overrides):
    settings_overrides["trusted_proxies"] = 1


@pytest.mark.usefixtures("behind_one_proxy")
@pytest.mark.parametrize("host", ["127.0.0.1:8000", "localhost:8000"])
def test_review3_cookie_is_secure_when_a_trusted_proxy_says_https_even_if_host_is_loopback(
        client, host):
    """R3-1. A TLS-terminating proxy that forwards to the service on loopback (nginx's default
    ``proxy_set_header Host $proxy_host`` sends ``Host: 127.0.0.1:8000``) and says
    ``X-Forwarded-Proto: https``: the browser talks https to the public name, yet the session
    cookie comes without ``Secure``, so the browser also sends it over plain http to that name
    (a network attacker's injected ``http://`` request reads it). The request *is* https
    (ProxyFix sets the scheme); the cookie should say so."""
    res = client.post(SESSION, json={"token": SANDBOX_ADMIN_TOKEN},
                      headers={"Host": host, "X-Forwarded-Proto": "https",
                               "X-Forwarded-For": "203.0.113.7"})
    assert res.status_code == 201, res.json
    parts = {p.strip().lower() for p in _cookie(res).split(";")}
    assert "secure" in parts, _cookie(res)


# -- idle expiry defeated by the console's own polling (browser) ------------------------------

@pytest.fixture
def short_idle(settings_overrides):
    settings_overrides["console_idle_seconds"] = 5


@pytest.mark.browser
@pytest.mark.usefixtures("short_idle")
def test_review3_an_unattended_events_page_does_not_keep_the_session_alive_forever(
        app, chromium):
    """R3-2. README: "an idle session ends by itself". The Events section polls
    ``GET /v1/admin/events`` every 2 s and every request renews the session, so a console
    left open on Events (a shared back-office PC) never idles out: nobody touches it for
    many idle periods and the session still works. Background polling should not count as
    use (or the page should stop polling once the operator has been idle)."""
    with serving(app) as base, browsing_at(chromium, base, laptop=True) as b:
        b.goto("/console/")
        b.page.wait_for_selector("#token")
        b.page.fill("#token", SANDBOX_ADMIN_TOKEN)
        b.page.click("#sign-in")
        b.page.wait_for_selector("[data-testid=role]:visible")
        b.goto("/console/#/events")
        b.page.wait_for_selector("#section-events")
        cookie = next(c for c in b.page.context.cookies() if c["name"] == "bff_console")
        b.page.wait_for_timeout(16000)  # > 3 idle periods, no operator action
        still = requests.get(base + SESSION, cookies={"bff_console": cookie["value"]},
                             timeout=5)
        assert still.status_code == 401, (
            "the session outlived 3x BFF_CONSOLE_IDLE_SECONDS with nobody using the console")
