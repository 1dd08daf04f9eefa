"""bff: the backend that WeChat Mini Programs and H5 pages call for Cards & Offers."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from flask import Flask

from bff.ground.config import (
    DEFAULT_WECHAT_BASE,
    SANDBOX_INTERNAL_BASE,
    SERVICE_INTERNAL_BASE,
    Settings,
    load_settings,
)

if TYPE_CHECKING:  # not at import: see _wechat_transport
    import requests

log = logging.getLogger(__name__)



def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: settings (defaults, BFF_* environment, ``config``), Redis, WeChat, routes."""
    settings = load_settings(overrides=config)
    from bff.ground import observability

    observability.configure_logging(settings)
    from bff.edges.http.service_app import ServiceFlask

    app = ServiceFlask(__name__)
    app.config.update(
        API_TITLE="bff — WeChat Cards & Offers backend",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        JSON_SORT_KEYS=False,
    )

    from bff.edges.http import cors, errors, request_guard
    from bff.ground import store
    from bff.ground.services import Services, install
    from bff.ground.wechat import build_wechat

    redis_client = store.connect(settings.redis_url, allow_embedded=settings.sandbox)
    wechat_session, wechat_base = _wechat_transport(app, settings, redis_client)
    wechat = build_wechat(settings, redis_client, session=wechat_session, base_url=wechat_base)
    install(app, Services(settings=settings, redis=redis_client, wechat=wechat))

    from bff.edges.http.openapi import build_api

    api = build_api(app)  # one per app: several apps (instances) can live in one process
    app.extensions["bff_api"] = api
    errors.init_app(app)
    request_guard.init_app(app)
    # first of the before_request hooks; operators' requests get ids of the service's own
    # (the audit records them)
    observability.init_app(app, own_ids_under=("/v1/admin/",))
    cors.allow_origins(app, settings.cors_origins)

    from bff.edges.ops.resources import blp as ops_blp

    api.register_blueprint(ops_blp)
    from bff.edges.ops.docs import register_docs

    register_docs(app, title=app.config["API_TITLE"], sandbox=settings.sandbox)
    # Every area, explicitly: an area that fails to import fails the start.
    from bff.edges import admin, cards, events, membership, sessions

    for area in (sessions, cards, membership, events, admin):
        area.register(app, api)
    from bff.edges.console import register_console

    register_console(app)  # the operators' console: production and sandbox mode
    if settings.sandbox:  # the demo pages hand out the sandbox's staff token: never elsewhere
        from bff.edges.demo import register_demo

        register_demo(app)
    from bff.edges.http import tracing

    tracing.init_app(app)  # when OTEL_* variables ask for it
    from bff.edges.http import quota

    quota.init_app(app, settings, redis_client)  # last: ProxyFix wraps everything
    return app


def _wechat_transport(
    app: Flask, settings: Settings, redis_client: Any
) -> tuple[requests.Session | None, str]:
    """In sandbox mode with no explicit upstream, route WeChat calls to the mounted sandbox.

    ``requests`` is imported here, not with the package: gunicorn's master imports ``bff`` (the
    Procfile's worker and logger classes) before its gevent workers monkey-patch, and urllib3
    imported before the patch makes every HTTPS call of a worker fail with RecursionError
    (tests/test_worker_class.py)."""
    if not settings.sandbox:
        return None, settings.wechat_api_base
    import requests

    from bff.edges.http.service_app import OneMount
    from bff.sandbox import SandboxConfig, create_sandbox_app
    from bff.sandbox.transport import WSGIAdapter

    bff_wsgi = app.wsgi_app
    # In-process sessions: no proxy, CA bundle or netrc applies, so requests need not read the
    # environment for them on every call (bff.ground.wechat.client._pooled_session).
    push_session = requests.Session()
    push_session.trust_env = False
    push_session.mount(SERVICE_INTERNAL_BASE, WSGIAdapter(bff_wsgi))
    sandbox_app = create_sandbox_app(
        redis_client,
        SandboxConfig(
            oa_appid=settings.appid,
            oa_secret=settings.secret,
            mp_appid=settings.miniprogram_appid,
            mp_secret=settings.miniprogram_secret,
            push_token=settings.push_token,
            push_aes_key=settings.push_aes_key,
            event_url=f"{SERVICE_INTERNAL_BASE}/wechat/events",
            safe_mode=True,
            web_hosts=settings.jssdk_hosts,
        ),
        push_session=push_session,
    )
    from bff.edges.http.cors import allow_origins

    allow_origins(sandbox_app, settings.cors_origins)  # the JS-SDK bridge calls it from H5 pages
    app.wsgi_app = OneMount(bff_wsgi, "/sandbox", sandbox_app)  # type: ignore[method-assign]
    app.extensions["bff_sandbox"] = sandbox_app
    if settings.wechat_api_base.rstrip("/") != DEFAULT_WECHAT_BASE:
        return None, settings.wechat_api_base  # a standalone sandbox over real HTTP
    session = requests.Session()
    session.trust_env = False
    session.mount(SANDBOX_INTERNAL_BASE, WSGIAdapter(sandbox_app))
    return session, SANDBOX_INTERNAL_BASE
