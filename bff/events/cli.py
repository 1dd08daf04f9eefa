"""``bff worker`` (the Procfile's worker line) and ``bff events tail``."""

from __future__ import annotations

import json
import signal
import threading
import time

import click
from flask import current_app
from flask.cli import with_appcontext

from bff.events.stream import read_events
from bff.events.worker import default_consumer, process_pending, run_worker


@click.command("worker")
@click.option("--consumer", default=None, help="Consumer name (default: host-pid).")
@click.option("--once", is_flag=True, help="Handle what is there, then exit.")
@with_appcontext
def worker(consumer: str | None, once: bool) -> None:
    """Handle recorded WeChat events (consumer group; reclaims a crashed worker's entries)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    consumer = consumer or default_consumer()
    if once:
        click.echo(json.dumps(process_pending(app, consumer=consumer)))
        return
    stop = threading.Event()

    def _stop(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    run_worker(app, stop, consumer=consumer)


@click.group("events")
def events() -> None:
    """The recorded WeChat event stream."""


@events.command("tail")
@click.option("--after", default=None, help="Start after this stream id (default: the start).")
@click.option("--follow", "-f", is_flag=True, help="Keep printing new events.")
@with_appcontext
def tail(after: str | None, follow: bool) -> None:
    """Print events as JSON lines, in order."""
    r = current_app.extensions["bff"].redis
    while True:
        page, after = read_events(r, after=after, limit=500)
        for event in page:
            click.echo(json.dumps(event, ensure_ascii=False))
        if not follow:
            return
        if not page:
            time.sleep(1.0)
