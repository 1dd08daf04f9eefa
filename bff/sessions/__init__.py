"""Sessions: Mini Program / H5 login, bearer tokens (``bff.sessions.auth``), ``/v1/me``."""

from __future__ import annotations

from typing import Any


def register(app: Any, api: Any) -> None:
    from bff.extensions import services
    from bff.sessions.auth import authenticate_early
    from bff.sessions.cache import SessionCache, usable
    from bff.sessions.resources import blp

    api.register_blueprint(blp)
    app.before_request(authenticate_early)
    svc = services(app)
    if svc.settings.session_cache and usable(svc.redis):
        svc.extras["session_cache"] = SessionCache(svc.redis)
