"""Cards for their holders: signing, codes, JS-SDK, redemption of their own codes."""

from __future__ import annotations

from typing import Any


def register(app: Any, api: Any) -> None:
    from bff.edges.cards.resources import add_card_directly, blp
    from bff.edges.http.service_app import ServiceFlask

    api.register_blueprint(blp)
    if isinstance(app, ServiceFlask):
        app.add_direct_route("POST", "/v1/cards/add-card", add_card_directly(app))
