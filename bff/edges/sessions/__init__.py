"""Sessions: Mini Program / H5 login, bearer tokens (``bff.edges.http.user_auth``), ``/v1/me``."""

from __future__ import annotations

from typing import Any


def register(app: Any, api: Any) -> None:
    from bff.edges.sessions.resources import blp
    from bff.ground.services import services
    from bff.ground.store import keys
    from bff.ground.store.tracked import TrackedCache, usable

    api.register_blueprint(blp)
    svc = services(app)
    if svc.settings.session_cache and usable(svc.redis):
        # Session records and identity links: what every authenticated request reads.
        svc.extras["session_cache"] = TrackedCache(
            svc.redis, (keys.session(""), keys.identity_prefix()))
