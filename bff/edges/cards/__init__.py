"""Cards for their holders: signing, codes, JS-SDK, redemption of their own codes."""

from __future__ import annotations

from typing import Any


def register(app: Any, api: Any) -> None:
    from bff.edges.cards.resources import blp

    api.register_blueprint(blp)
