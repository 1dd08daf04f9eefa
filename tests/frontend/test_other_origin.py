"""An H5 developer's own page on another origin (their laptop's dev server) against bff dev.

The page is on ``http://localhost:<port>``, the service on ``http://127.0.0.1:<port>``: another
origin and another site, so CORS is needed and the sandbox's cookie never reaches the bridge;
the bridge learns who the user is from the login code the page comes back with.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests
from werkzeug.serving import make_server

from bff import create_app
from tests.frontend.conftest import Quiet, browsing_at, free_port, serving

PAGE = """<!doctype html>
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>my card page</title>
<script src="{api}/sandbox/jsbridge.js"></script>
<script src="{api}/demo/vendor/jweixin.js"></script>
<p id="out">starting</p>
<script type="module">
import {{ createClient }} from '{api}/demo/client/index.js'
const out = document.getElementById('out')
const bff = createClient({{ baseUrl: '{api}', platform: 'h5', wx: window.wx, appId: '{appid}',
  authorizeUrl: '{api}/sandbox/connect/oauth2/authorize', storage: localStorage }})
try {{
  if (!bff.token && !new URL(location.href).searchParams.get('code')) {{
    location.assign(bff.authorizeUrl())
  }} else {{
    await bff.login()
    await bff.jssdkConfig()
    const [card] = await bff.addCards(['{card}'])
    out.textContent = 'added ' + card.code
  }}
}} catch (e) {{
  out.textContent = 'failed ' + (e.errMsg || e.message)
}}
</script>
"""


@contextmanager
def page_server(html: list[str], port: int) -> Iterator[None]:
    """The developer's dev server: serves the one page on every path."""
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [html[0].encode()]

    server = make_server("127.0.0.1", port, app, threaded=True, request_handler=Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_a_page_on_an_allowed_origin_takes_a_card_through_the_bridge(browser, redis_client,
                                                                      redis_url) -> None:
    page_port = free_port()
    page_origin = f"http://localhost:{page_port}"
    app = create_app({"sandbox": True, "redis_url": redis_url, "cors_origins": (page_origin,)})
    html: list[str] = []
    with serving(app) as api, page_server(html, page_port), browsing_at(browser, api) as b:
        card = requests.post(api + "/sandbox/_sim/cards", json={"card_type": "GROUPON"},
                             timeout=5).json()["card_id"]
        html.append(PAGE.format(api=api, appid=app.extensions["bff"].settings.appid, card=card))
        b.page.goto(page_origin + "/cards.html")
        b.page.wait_for_selector("[data-testid=new-user]")
        b.page.click("[data-testid=new-user]")
        b.page.wait_for_url(page_origin + "/**")
        b.page.wait_for_function("""() => {
            const out = document.getElementById('out')
            return out && out.textContent !== 'starting'
        }""")
        text = b.page.text_content("#out")
        assert text.startswith("added "), text
        assert b.page.url.startswith(page_origin + "/cards.html")
        assert b.outside == [] and b.errors == []
