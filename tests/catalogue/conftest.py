"""The operator's side of the catalogue, driven through the app and its mounted sandbox."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from bff.events import process_pending
from tests.membership.conftest import Story
from tests.story import ADMIN


class Operator(Story):
    """The user's story helpers, plus what an operator and WeChat's reviewer do."""

    def __init__(self, client: FlaskClient, app: Any) -> None:
        super().__init__(client)
        self.app = app

    def create(self, card: dict[str, Any]) -> str:
        answer = self.c.post("/v1/admin/cards", json=card, headers=ADMIN)
        assert answer.status_code == 201, answer.get_json()
        return answer.get_json()["card_id"]

    def card(self, card_id: str) -> dict[str, Any]:
        answer = self.c.get(f"/v1/admin/cards/{card_id}", headers=ADMIN)
        assert answer.status_code == 200, answer.get_json()
        return answer.get_json()

    def review(self, card_id: str, approve: bool = True, reason: str | None = None) -> None:
        """WeChat's reviewer decides; its push is handled as the worker would."""
        body: dict[str, Any] = {"approve": approve}
        if reason:
            body["reason"] = reason
        pushed = self.sim(f"cards/{card_id}/review", body)["pushed"]
        assert pushed[0]["delivered"], pushed
        self.handle_events()

    def handle_events(self) -> dict[str, int]:
        return process_pending(self.app)


@pytest.fixture
def op(app, client: FlaskClient) -> Operator:
    return Operator(client, app)
