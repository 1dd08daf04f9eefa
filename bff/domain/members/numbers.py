"""Membership numbers per the card's profile: the code itself, or prefix + zero-padded sequence.

A sequence number is given to a code once (``SET NX``), so a retried activation reuses it;
a number lost to a race leaves a gap in the sequence, never a duplicate.
"""

from __future__ import annotations

from typing import Any

import redis

from bff.ground.errors import Conflict
from bff.ground.store import keys

MAX_LENGTH = 20  # /card/membercard/activate limit


def _setting(settings: Any, name: str, default: Any) -> Any:
    if isinstance(settings, dict):
        value = settings.get(name, default)
    else:
        value = getattr(settings, name, default)
    return default if value is None else value


def membership_number_for(r: redis.Redis, profile: Any, *, card_id: str, code: str) -> str:
    """The membership number of ``code`` under ``profile.membership_number``."""
    settings = getattr(profile, "membership_number", None) or {}
    mode = _setting(settings, "mode", "code")
    if mode == "sequence":
        key = keys.member_number(card_id, code)
        given = r.get(key)
        if given:
            return given
        prefix = str(_setting(settings, "prefix", ""))
        width = int(_setting(settings, "width", 0) or 0)
        number = f"{prefix}{int(r.incr(keys.member_sequence(card_id))):0{width}d}"
        _check(number)
        if not r.set(key, number, nx=True):
            return r.get(key) or number
        return number
    _check(code)
    return code


def _check(number: str) -> None:
    if len(number) > MAX_LENGTH:
        raise Conflict(
            f"The membership number would exceed {MAX_LENGTH} characters; "
            "shorten the prefix or width in the card's profile"
        )
