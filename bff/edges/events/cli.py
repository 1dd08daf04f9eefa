"""``bff worker`` (the Procfile's worker line) and ``bff events tail``."""

from __future__ import annotations

import json
import re
import signal
import threading
import time

import click
from flask import current_app
from flask.cli import with_appcontext

from bff.domain.events.stream import read_events
from bff.domain.events.worker import default_consumer, process_pending, run_worker
from bff.ground.services import services
from bff.ground.store import STORE_ERRORS

STREAM_ID = re.compile(r"[0-9]{1,19}(-[0-9]{1,19})?")


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


def _stream_id(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None and not STREAM_ID.fullmatch(value):
        raise click.BadParameter("not a stream id like 1700000000000-0")
    return value


@events.command("tail")
@click.option("--after", default=None, callback=_stream_id,
              help="Start after this stream id (default: the start).")
@click.option("--follow", "-f", is_flag=True, help="Keep printing new events.")
@with_appcontext
def tail(after: str | None, follow: bool) -> None:
    """Print events as JSON lines, in order."""
    r = services().redis
    while True:
        try:
            page, after = read_events(r, after=after, limit=500)
        except STORE_ERRORS as e:
            raise click.ClickException(f"Redis is unavailable ({type(e).__name__})") from None
        for event in page:
            click.echo(json.dumps(event, ensure_ascii=False))
        if not follow:
            return
        if not page:
            time.sleep(1.0)
