"""/docs: the overview at its top, and request examples that the operations accept.

Swagger UI shows (and "Try it out" sends) a request body built from the schema's ``example``, or
else from the types ("string", 0), which the operations refuse. Every operation with a JSON body
has an example that passes its own validation: the marshmallow schema's ``load`` and the spec's
JSON schema."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
from apispec.ext.marshmallow import MarshmallowPlugin

from bff.edges.http.openapi_docs import OVERVIEW, REQUEST_EXAMPLES

SPEC = Path(__file__).resolve().parent.parent / "openapi" / "openapi.json"


def json_bodies(spec: dict) -> list[tuple[str, str, dict]]:
    """(METHOD, path, media type object) of every operation with a JSON request body."""
    return [(method.upper(), path, op["requestBody"]["content"]["application/json"])
            for path, item in spec["paths"].items() for method, op in item.items()
            if isinstance(op, dict)
            and "application/json" in op.get("requestBody", {}).get("content", {})]


def swagger_ui_example(spec: dict, media: dict) -> tuple[str, Any]:
    """The body Swagger UI shows first: the media type's example(s), else the schema's."""
    ref = media["schema"]["$ref"]
    name = ref.rsplit("/", 1)[1]
    if "example" in media:
        return name, media["example"]
    if "examples" in media:
        return name, next(iter(media["examples"].values()))["value"]
    schema = spec["components"]["schemas"][name]
    assert "example" in schema, f"{name} has no example: add one to REQUEST_EXAMPLES"
    return name, schema["example"]


def schema_classes(app) -> dict[str, type]:
    """Component name -> the marshmallow schema class flask-smorest documented under it."""
    api = app.extensions["bff_api"]
    plugin = next(p for p in api.spec.plugins if isinstance(p, MarshmallowPlugin))
    return {name: key[0] for key, name in plugin.converter.refs.items()}


def test_every_json_body_has_an_example_its_operation_accepts(app, client) -> None:
    spec = client.get("/openapi.json").get_json()
    classes = schema_classes(app)
    bodies = json_bodies(spec)
    assert len(bodies) >= 20
    used = set()
    for method, path, media in bodies:
        name, example = swagger_ui_example(spec, media)
        used.add(name)
        validator = jsonschema_rs.Draft4Validator(
            {"$ref": media["schema"]["$ref"], "components": spec["components"]})
        problems = [f"{e.instance_path}: {e.message}" for e in validator.iter_errors(example)]
        assert not problems, f"{method} {path}: the {name} example breaks the spec: {problems}"
        with app.test_request_context():
            classes[name]().load(example)  # raises ValidationError if the operation refuses it
    assert used == set(REQUEST_EXAMPLES), "an example for a schema no operation takes"


def test_the_exported_spec_carries_the_examples_and_the_overview(client) -> None:
    assert json.loads(SPEC.read_text("utf-8"))["info"] == client.get("/openapi.json").json["info"]
    info = client.get("/openapi.json").get_json()["info"]
    assert info["description"] == OVERVIEW
    for needed in ("/sandbox/_sim/login-codes", "POST /v1/sessions/miniprogram",
                   "sandbox-admin-token", "/sandbox/openapi.json", "Authorize"):
        assert needed in OVERVIEW, needed


@pytest.mark.slow
def test_the_overview_s_curl_steps_give_a_working_token(app) -> None:
    from tests.frontend.conftest import serving

    missing = [tool for tool in ("bash", "curl", "jq") if not shutil.which(tool)]
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"{missing} needed (the overview's walk-through uses them)")
        pytest.skip(f"{missing} not installed")
    script = re.search(r"```sh\n(.*?)```", OVERVIEW, re.S).group(1)
    with serving(app) as base:
        script = script.replace("BASE=http://127.0.0.1:8000", f"BASE={base}")
        done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], capture_output=True,
                              text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"cards": []}, done.stdout
