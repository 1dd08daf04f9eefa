"""``bff cards create|list|get|update|delete|stock|activation-form ...`` and
``bff stats channels|wechat`` (CSV).

The ``cards`` commands here are plain commands: ``bff.edges.admin.cli``, where the ``cards`` group
is
defined, adds them, so the group is whole wherever it is imported (the installed ``bff`` looks
``cards`` up before any app exists)."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import click
from flask.cli import AppGroup, with_appcontext

from bff.domain import card_data, catalogue
from bff.domain.channel_stats import METRICS, channel_rows, today
from bff.edges.admin.card_schemas import CardChangeSchema, CardCreateSchema
from bff.edges.admin.catalogue_schemas import (
    ActivationFormSchema,
    CardIdsQuerySchema,
    StockSchema,
    WeChatStatsQuerySchema,
)
from bff.edges.admin.cli_support import FILE, cli_errors, echo_json, svc
from bff.ground.csv_out import write_rows

activation_form = AppGroup("activation-form", help="A member card's activation form.")
stats = AppGroup("stats", help="Card statistics as CSV: the service's channels, WeChat's data.")


def read_json_file(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as e:
        raise click.ClickException(f"{path} is not JSON (UTF-8): {e}") from None


@click.command("create")
@click.argument("file", type=FILE)
@with_appcontext
@cli_errors
def cards_create(file: Path) -> None:
    """Create a card from FILE, WeChat's card/create JSON ({"card": {...}}); prints card_id."""
    data = CardCreateSchema().load(read_json_file(file))
    echo_json({"card_id": catalogue.create_card(svc().redis, svc().wechat, data["card"])})


@click.command("list")
@click.option("--offset", type=int, default=0, show_default=True)
@click.option("--count", type=int, default=50, show_default=True, help="At most 50.")
@click.option("--status", "statuses", multiple=True,
              help="CARD_STATUS_* to keep (repeatable); default all but deleted.")
@with_appcontext
@cli_errors
def cards_list(offset: int, count: int, statuses: tuple[str, ...]) -> None:
    """The Official Account's card ids, a page at a time."""
    args = CardIdsQuerySchema().load({"offset": offset, "count": count,
                                      **({"status": list(statuses)} if statuses else {})})
    echo_json(catalogue.list_cards(svc().wechat, args["offset"], args["count"],
                                   args.get("status")))


@click.command("get")
@click.argument("card_id")
@with_appcontext
@cli_errors
def cards_get(card_id: str) -> None:
    """A card as WeChat has it, with its review state."""
    echo_json(catalogue.get_card(svc().redis, svc().wechat, card_id))


@click.command("update")
@click.argument("card_id")
@click.argument("file", type=FILE)
@with_appcontext
@cli_errors
def cards_update(card_id: str, file: Path) -> None:
    """Change a card: FILE holds the changed fields ({"base_info": {...}, "prerogative": ...})."""
    change = CardChangeSchema().load(read_json_file(file))
    echo_json(catalogue.update_card(svc().redis, svc().wechat, card_id, change))


@click.command("delete")
@click.argument("card_id")
@click.confirmation_option(prompt="Delete the card? Users keep the codes they hold.")
@with_appcontext
@cli_errors
def cards_delete(card_id: str) -> None:
    """Delete a card."""
    catalogue.delete_card(svc().redis, svc().wechat, card_id)
    echo_json({"deleted": card_id})


@click.command("stock", context_settings={"ignore_unknown_options": True})
@click.argument("card_id")
@click.argument("delta")
@with_appcontext
@cli_errors
def cards_stock(card_id: str, delta: str) -> None:
    """Change a card's stock by DELTA: +100 adds 100, -20 takes 20 away."""
    try:
        value = int(delta)
    except ValueError:
        raise click.ClickException(f"DELTA must be a whole number like +100 or -20, "
                                   f"not {delta!r}") from None
    data = StockSchema().load({"delta": value})
    echo_json(catalogue.change_stock(svc().redis, svc().wechat, card_id, data["delta"]))


@activation_form.command("set")
@click.argument("card_id")
@click.argument("file", type=FILE)
@cli_errors
def form_set(card_id: str, file: Path) -> None:
    """Set the activation form from FILE (activateuserform/set JSON without card_id)."""
    form = ActivationFormSchema().load(read_json_file(file))
    echo_json(catalogue.set_activation_form(svc().redis, svc().wechat, card_id, form))


@activation_form.command("get")
@click.argument("card_id")
@cli_errors
def form_get(card_id: str) -> None:
    """The activation form last set through the service."""
    echo_json(catalogue.get_activation_form(svc().redis, card_id))


def write_csv(rows: list[dict[str, Any]], columns: list[str], output: Path | None) -> None:
    """Rows as CSV with a header line, to ``output`` or stdout."""
    extra = [k for row in rows for k in row if k not in columns]
    header = columns + list(dict.fromkeys(extra))
    stream = output.open("w", newline="", encoding="utf-8") if output else sys.stdout
    try:
        write_rows(stream, header, rows)
    finally:
        if output:
            stream.close()


def _day(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        raise click.ClickException(f"not a date YYYY-MM-DD: {value}") from None


def _pages(from_: dt.date | None, to: dt.date | None) -> list[tuple[dt.date, dt.date]]:
    """The whole range in the pages the API answers (a CSV has no next_from)."""
    out = []
    start, end, rest = card_data.day_range(from_, to)
    out.append((start, end))
    while rest is not None:
        start, end, rest = card_data.day_range(rest, to)
        out.append((start, end))
    return out


@stats.command("channels")
@click.option("--card-id")
@click.option("--from", "from_", help="First day YYYY-MM-DD (Asia/Shanghai; default to - 6).")
@click.option("--to", help="Last day, inclusive (default today).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the CSV here instead of stdout.")
@cli_errors
def stats_channels(card_id: str | None, from_: str | None, to: str | None,
                   output: Path | None) -> None:
    """The service's own counts per day and channel (outer_str), from card events."""
    rows: list[dict[str, Any]] = []
    for start, end in _pages(_day(from_), _day(to) or today()):
        rows.extend(channel_rows(svc().redis, card_id=card_id, start=start, end=end))
    write_csv(rows, ["date", "card_id", "outer_str", *METRICS], output)


@stats.command("wechat")
@click.option("--kind", required=True, type=click.Choice(["summary", "card", "member"]))
@click.option("--card-id", help="With --kind card: one card.")
@click.option("--from", "from_", help="First day YYYY-MM-DD (Asia/Shanghai; default to - 6).")
@click.option("--to", help="Last day, inclusive (default yesterday).")
@click.option("--cond-source", type=click.Choice(["0", "1"]), default="1", show_default=True,
              help="1: cards created through the API, 0: in the MP console.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the CSV here instead of stdout.")
@cli_errors
def stats_wechat(kind: str, card_id: str | None, from_: str | None, to: str | None,
                 cond_source: str, output: Path | None) -> None:
    """WeChat's card data (datacube) by day; computed=False marks days WeChat has not done."""
    args = WeChatStatsQuerySchema().load({
        "kind": kind, "cond_source": cond_source,
        **{k: v for k, v in (("from", from_), ("to", to), ("card_id", card_id)) if v}})
    if args.get("card_id") and kind != "card":
        raise click.ClickException("--card-id goes with --kind card")
    rows = []
    for start, end in _pages(args.get("from_"), args.get("to")):
        rows.extend(card_data.wechat_card_rows(svc().wechat, kind, start, end,
                                               card_id=args.get("card_id"),
                                               cond_source=args["cond_source"]))
    write_csv(rows, [*card_data.FIELDS[kind], "computed"], output)
