"""Operators: every ``/v1/admin`` endpoint (issuing, card messages, codes, catalogue, members,
card profiles and pools, events, channel statistics, identity links, the console session and
the audit log) and the command line for them."""

from __future__ import annotations

from typing import Any

from flask import Flask


def register(app: Flask, api: Any) -> None:
    from bff.admin import (
        broadcast_resources,
        button_resources,
        catalogue_resources,
        cli,
        code_resources,
        event_resources,
        issuing_resources,
        member_resources,
        operator_resources,
        profile_resources,
    )

    api.register_blueprint(issuing_resources.blp)
    api.register_blueprint(broadcast_resources.blp)
    api.register_blueprint(code_resources.blp)
    api.register_blueprint(member_resources.blp)
    api.register_blueprint(catalogue_resources.blp)
    api.register_blueprint(profile_resources.blp)
    api.register_blueprint(event_resources.blp)
    api.register_blueprint(button_resources.blp)
    api.register_blueprint(operator_resources.session_blp)
    api.register_blueprint(operator_resources.blp)
    app.after_request(operator_resources.record_operator_request)
    for group in cli.GROUPS:
        app.cli.add_command(group)
