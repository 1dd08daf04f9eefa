"""``/docs``: Swagger UI from an installed package (flask-swagger-ui), nothing from a CDN.

It shows the service's spec (``/openapi.json``) and, in sandbox mode, the simulator's
(``/sandbox/openapi.json``), chosen from the top bar.
"""

from __future__ import annotations

from flask import Flask
from flask_swagger_ui import get_swaggerui_blueprint

DOCS_PATH = "/docs"


def register_docs(app: Flask, *, title: str, sandbox: bool) -> None:
    """Serve the docs page and its assets (JS, CSS) under ``/docs``."""
    urls = [{"url": "/openapi.json", "name": "bff"}]
    if sandbox:
        urls.append({"url": "/sandbox/openapi.json", "name": "sandbox simulator (/_sim)"})
    blueprint = get_swaggerui_blueprint(
        DOCS_PATH, "/openapi.json", blueprint_name="docs",
        config={"app_name": title, "urls": urls, "urls.primaryName": "bff",
                "validatorUrl": None},  # no call to swagger.io's validator
    )
    app.register_blueprint(blueprint)
    # the page without the trailing slash too (the assets' URLs are absolute)
    app.add_url_rule(DOCS_PATH, endpoint="docs_page", view_func=app.view_functions["docs.show"])
