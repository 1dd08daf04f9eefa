"""What the user's WeChat can do, read from its User-Agent (``MicroMessenger/x.y.z``).

Cards need WeChat >= 6.0.2; the activation plug-in needs >= 6.5.9 on iOS and >= 6.5.10 on
Android, so older clients (and other platforms) use the merchant's own registration page.
"""

from __future__ import annotations

import re
from typing import Any

CARDS_MIN = (6, 0, 2)
PLUGIN_MIN = {"ios": (6, 5, 9), "android": (6, 5, 10)}

_VERSION = re.compile(r"MicroMessenger/(\d+(?:\.\d+){0,3})", re.IGNORECASE)
_IOS = re.compile(r"iPhone|iPad|iPod|iOS", re.IGNORECASE)
_ANDROID = re.compile(r"Android", re.IGNORECASE)


def platform_of(user_agent: str) -> str:
    if _IOS.search(user_agent):
        return "ios"
    if _ANDROID.search(user_agent):
        return "android"
    return "other"


def _as_tuple(version: str) -> tuple[int, int, int]:
    parts = [int(p) for p in version.split(".")[:3]]
    parts += [0] * (3 - len(parts))
    return parts[0], parts[1], parts[2]


def capabilities(user_agent: str | None) -> dict[str, Any]:
    """``{weixin_version, cards, activation_plugin, platform}`` for a User-Agent string."""
    ua = user_agent or ""
    platform = platform_of(ua)
    match = _VERSION.search(ua)
    if not match:
        return {"weixin_version": None, "cards": False, "activation_plugin": False,
                "platform": platform}
    version = match.group(1)
    numbers = _as_tuple(version)
    plugin_min = PLUGIN_MIN.get(platform)
    return {
        "weixin_version": version,
        "cards": numbers >= CARDS_MIN,
        "activation_plugin": plugin_min is not None and numbers >= plugin_min,
        "platform": platform,
    }
