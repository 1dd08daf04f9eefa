"""``bff broadcasts send|preview|status`` and ``bff messages card``: card messages from the
command line, through the same rules as ``/v1/admin/broadcasts`` (``bff.domain.broadcasts``).

Both groups are whole here; ``bff.edges.admin.cli.GROUPS`` lists them."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from bff.domain import broadcasts as domain
from bff.edges.admin.broadcast_schemas import (
    BroadcastRequestSchema,
    CardMessageRequestSchema,
    PreviewRequestSchema,
)
from bff.edges.admin.cli_support import cli_errors, echo_json, svc

broadcasts = AppGroup("broadcasts", help="Card messages to every follower, a tag or a list.")
messages = AppGroup("messages", help="Customer-service messages to one follower.")


def read_openids(path: Path) -> list[str]:
    """One openid a line (blank lines and ``#`` comments skipped; a CSV's first column)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise click.ClickException(f"{path} is not UTF-8 text") from None
    openids = []
    for line in text.splitlines():
        value = line.split(",", 1)[0].strip()
        if value and not value.startswith("#"):
            openids.append(value)
    return openids


@broadcasts.command("send")
@click.argument("card_id")
@click.option("--all", "to_all", is_flag=True, help="Every follower.")
@click.option("--tag", "tag_id", type=int, help="The followers with this tag id.")
@click.option("--openids", "openids_file", type=click.Path(dir_okay=False, path_type=Path),
              help="A file of 2-10,000 openids, one a line.")
@click.option("--client-msg-id", help="Makes a repeat a no-op: the same send again prints the "
                                      "first broadcast with \"replayed\": true.")
@cli_errors
def broadcasts_send(card_id: str, to_all: bool, tag_id: int | None, openids_file: Path | None,
                    client_msg_id: str | None) -> None:
    """Broadcast CARD_ID in a card message (exactly one of --all, --tag, --openids)."""
    given = [name for name, on in (("--all", to_all), ("--tag", tag_id is not None),
                                   ("--openids", openids_file is not None)) if on]
    if len(given) != 1:
        raise click.ClickException("give exactly one of --all, --tag ID, --openids FILE")
    to: dict = ({"all": True} if to_all else {"tag_id": tag_id} if tag_id is not None
                else {"openids": read_openids(openids_file)})  # type: ignore[arg-type]
    body: dict = {"card_id": card_id, "to": to}
    if client_msg_id is not None:
        body["client_msg_id"] = client_msg_id
    data = BroadcastRequestSchema().load(body)
    answer, replayed = domain.send(svc().redis, svc().wechat, data["card_id"], data["to"],
                                   data.get("client_msg_id"))
    echo_json({**answer, "replayed": replayed})


@broadcasts.command("preview")
@click.argument("card_id")
@click.option("--openid", help="The follower's openid.")
@click.option("--wxname", help="The follower's WeChat ID.")
@cli_errors
def broadcasts_preview(card_id: str, openid: str | None, wxname: str | None) -> None:
    """Preview the card message of CARD_ID on one follower's phone."""
    if (openid is None) == (wxname is None):
        raise click.ClickException("give exactly one of --openid, --wxname")
    body = {"card_id": card_id, **({"openid": openid} if openid else {"wxname": wxname})}
    data = PreviewRequestSchema().load(body)
    echo_json(domain.preview(svc().redis, svc().wechat, data["card_id"],
                             openid=data.get("openid"), wxname=data.get("wxname")))


@broadcasts.command("status")
@click.argument("broadcast_id")
@cli_errors
def broadcasts_status(broadcast_id: str) -> None:
    """What became of a broadcast (WeChat's counts once its job finished)."""
    echo_json(domain.status(svc().redis, svc().wechat, broadcast_id))


@messages.command("card")
@click.argument("openid")
@click.argument("card_id")
@cli_errors
def messages_card(openid: str, card_id: str) -> None:
    """Send OPENID a customer-service card message offering CARD_ID."""
    data = CardMessageRequestSchema().load({"openid": openid, "card_id": card_id})
    echo_json(domain.card_message(svc().redis, svc().wechat, data["openid"], data["card_id"]))
