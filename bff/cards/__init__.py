"""Cards for their holders (signing, codes, JS-SDK) and operators' card profiles and pools."""

from __future__ import annotations

from typing import Any


def register(app: Any, api: Any) -> None:
    from bff.cards.admin import blp as admin_blp
    from bff.cards.resources import blp

    api.register_blueprint(blp)
    api.register_blueprint(admin_blp)
