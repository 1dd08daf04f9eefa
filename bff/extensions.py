"""Extensions created unbound and bound in ``create_app``, and the per-app service registry."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import redis
from flask import current_app

if TYPE_CHECKING:
    from bff.config import Settings
    from bff.wechat.api import WeChatApi

@dataclass
class Services:
    """What the domain needs, built once per app: settings, Redis, the WeChat API."""

    settings: Settings
    redis: redis.Redis
    wechat: WeChatApi
    extras: dict[str, Any] = field(default_factory=dict)


def services() -> Services:
    return current_app.extensions["bff"]
