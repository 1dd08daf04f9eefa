"""The per-app service registry: one ``Services`` per Flask app, kept in
``app.extensions["bff"]`` by ``create_app`` and read back with ``services()``.

Nothing here is a Flask extension created unbound: ``Services`` is built once the app's settings,
Redis client and WeChat API exist, so several apps (instances) can live in one process, each with
its own. ``Services.extras`` holds objects an area builds once per app when it registers (the
push crypto, the session cache), looked up by name.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import redis
from flask import Flask, current_app

if TYPE_CHECKING:
    from bff.ground.config import Settings
    from bff.ground.wechat.api import WeChatApi

KEY = "bff"  # the app.extensions entry


@dataclass
class Services:
    """What the domain needs, built once per app: settings, Redis, the WeChat API, the clock,
    and the per-app objects areas build once (``extras``, by name)."""

    settings: Settings
    redis: redis.Redis
    wechat: WeChatApi
    extras: dict[str, Any] = field(default_factory=dict)
    # Wall-clock seconds for expiries and ledger times, passed to the domain functions that
    # judge them; a test moves time by replacing it.
    clock: Callable[[], float] = time.time


def install(app: Flask, svc: Services) -> None:
    """Make ``svc`` the app's services (``create_app`` does, once)."""
    app.extensions[KEY] = svc


def services(app: Flask | None = None) -> Services:
    """The services of ``app``, else of the current app."""
    if app is None:  # one proxy lookup (``app or current_app`` made two): ~3 calls a request
        app = current_app._get_current_object()  # type: ignore[attr-defined]
    return app.extensions[KEY]
