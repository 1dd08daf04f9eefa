"""Member cards: activation plug-in, activation (once per ticket), member info, capabilities.

``store_member`` / ``get_member`` are shared with the events area (``submit_membercard_user_info``).
"""

from __future__ import annotations

from typing import Any

from bff.domain.members.members import Member, get_member, readable_fields, store_member

__all__ = ["Member", "get_member", "readable_fields", "register", "store_member"]


def register(app: Any, api: Any) -> None:
    from bff.edges.membership.resources import blp

    api.register_blueprint(blp)
