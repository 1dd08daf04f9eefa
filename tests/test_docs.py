"""/docs works with no network: Swagger UI from an installed package; the simulator documented."""

from __future__ import annotations

import re

import pytest

from bff.sandbox.sim_spec import FORM_FIELDS


def test_docs_page_loads_everything_from_this_service(client) -> None:
    for path in ("/docs", "/docs/"):
        page = client.get(path)
        assert page.status_code == 200
        assert page.content_type.startswith("text/html")
    html = page.get_data(as_text=True)
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert {"/docs/swagger-ui-bundle.js", "/docs/swagger-ui.css"} <= set(assets)
    for url in assets:
        assert url.startswith("/docs/"), url  # nothing from a CDN
        with client.get(url) as asset:  # a file response: closed here
            assert asset.status_code == 200, url
            assert len(asset.data) > 0
    assert "cdn" not in html.lower() and "unpkg" not in html.lower()
    assert '"validatorUrl": null' in html  # Swagger UI would otherwise call swagger.io
    with client.get("/docs/swagger-ui-bundle.js") as bundle:
        assert "javascript" in bundle.content_type


def test_docs_show_the_service_and_the_simulator_specs(client) -> None:
    html = client.get("/docs").get_data(as_text=True)
    assert '"url": "/openapi.json"' in html and '"url": "/sandbox/openapi.json"' in html
    assert client.get("/openapi.json").status_code == 200


def test_outside_sandbox_mode_docs_show_only_the_service(redis_url: str) -> None:
    from bff import create_app
    from tests.test_factory import PRODUCTION_ENV

    overrides = {k.removeprefix("BFF_").lower(): v for k, v in PRODUCTION_ENV.items()}
    overrides["redis_url"] = redis_url
    html = create_app(overrides).test_client().get("/docs").get_data(as_text=True)
    assert "/sandbox/openapi.json" not in html


def test_the_simulator_spec_documents_every_sim_route_and_only_those(app, client) -> None:
    spec = client.get("/sandbox/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert spec["servers"] == [{"url": "/sandbox"}]
    documented = {(path, method.upper()) for path, item in spec["paths"].items()
                  for method in item}
    sandbox = app.extensions["bff_sandbox"]
    routed = {
        (re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule), method)
        for rule in sandbox.url_map.iter_rules() if rule.rule.startswith("/_sim")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert routed == documented


@pytest.mark.parametrize("path", ["/_sim/activation-form", "/_sim/add-card"])
def test_simulator_operations_say_what_to_send(client, path: str) -> None:
    spec = client.get("/sandbox/openapi.json").get_json()
    body = spec["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert "user" in body["required"]
    if path == "/_sim/activation-form":
        assert set(body["properties"]["fields"]["properties"]) == set(FORM_FIELDS)
        assert "USER_FORM_INFO_FLAG_MOBILE" in body["properties"]["fields"]["description"]


def test_reading_the_simulator_spec_is_no_call_to_wechat(client) -> None:
    client.get("/sandbox/openapi.json")
    assert "openapi.json" not in client.get("/sandbox/_sim/calls").get_json()
