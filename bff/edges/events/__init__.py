"""WeChat card events: verified and recorded once (``/wechat/events``), handled by a worker.

- ``push``: the endpoint; ``stream``: dedup + Redis stream; ``worker``: the consumer group;
  ``handlers``: what each event does; ``stats``: channel counters. Operators read them through
  ``bff.edges.admin.event_resources``.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from bff.domain.events.worker import process_pending, start_worker_thread

__all__ = ["process_pending", "register", "start_worker_thread"]


def register(app: Flask, api: Any) -> None:
    from bff.edges.events.cli import events, worker
    from bff.edges.events.push import blp as push_blp
    from bff.edges.events.push import direct_route
    from bff.edges.http.service_app import ServiceFlask

    api.register_blueprint(push_blp)
    if isinstance(app, ServiceFlask):
        app.add_direct_route("POST", "/wechat/events", direct_route(app))
    app.cli.add_command(worker)
    app.cli.add_command(events)
