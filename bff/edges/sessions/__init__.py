"""Sessions: Mini Program / H5 login, bearer tokens (``bff.edges.http.user_auth``), ``/v1/me``."""

from __future__ import annotations

from typing import Any


def register(app: Any, api: Any) -> None:
    from bff.domain.sessions.cache import SessionCache, usable
    from bff.edges.sessions.resources import blp
    from bff.ground.services import services

    api.register_blueprint(blp)
    svc = services(app)
    if svc.settings.session_cache and usable(svc.redis):
        svc.extras["session_cache"] = SessionCache(svc.redis)
