"""``bff qrcode|whitelist|cards profile|identities ...``; ``bff codes ...`` is in cli_codes,
``bff broadcasts|messages ...`` in cli_broadcasts, ``bff operators|audit`` in cli_operators.

``GROUPS`` is every operator group, each whole: a group's subcommands are added where the group
is defined (here for ``cards``), never by importing some other module later."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask.cli import AppGroup

from bff.admin import issuing, qrimage
from bff.admin.cli_broadcasts import broadcasts, messages
from bff.admin.cli_buttons import cards_pay_cell, cards_self_consume_cell, images
from bff.admin.cli_catalogue import (
    activation_form,
    cards_create,
    cards_delete,
    cards_get,
    cards_list,
    cards_stock,
    cards_update,
    stats,
)
from bff.admin.cli_codes import codes
from bff.admin.cli_data import data
from bff.admin.cli_members import members, users
from bff.admin.cli_operators import audit_log, operators_group, record_changes
from bff.admin.cli_support import cli_errors, echo_json, svc
from bff.admin.schemas import QrCodeRequestSchema, WhitelistSchema
from bff.cards.schemas import ProfileSchema
from bff.identity import find_identity, unlink
from bff.profiles import get_profile, put_profile

qrcode = AppGroup("qrcode", help="Card QR codes.")
whitelist = AppGroup("whitelist", help="The test whitelist.")
cards = AppGroup("cards", help="Cards as the BFF treats them.")
profile = AppGroup("profile", help="A card's profile (bind_openid, code_mode, self_redeem...).")
identities = AppGroup("identities", help="Mini Program / Official Account identity links.")
for _command in (cards_create, cards_list, cards_get, cards_update, cards_delete, cards_stock,
                 activation_form, profile, cards_self_consume_cell, cards_pay_cell):
    cards.add_command(_command)


@qrcode.command("create")
@click.argument("card_ids", nargs=-1, required=True, metavar="CARD_ID[:CODE]...")
@click.option("--code", help="The card's code (one card only).")
@click.option("--openid", help="Only this OA openid may receive it (one card only).")
@click.option("--unique", "is_unique_code", is_flag=True, default=None,
              help="The QR code issues one random code and is then spent (one card only).")
@click.option("--outer-str", help="Channel tag reported in user_get_card events.")
@click.option("--expire-seconds", type=int, help="60-1800; omit for a permanent QR code.")
@click.option("--png", "png", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the QR image as PNG.")
@click.option("--svg", "svg", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the QR image as SVG.")
@cli_errors
def qrcode_create(card_ids: tuple[str, ...], code: str | None, openid: str | None,
                  is_unique_code: bool | None, outer_str: str | None,
                  expire_seconds: int | None, png: Path | None, svg: Path | None) -> None:
    """Create a QR code for one card (QR_CARD) or 2-5 cards (QR_MULTIPLE_CARD)."""
    entries = []
    for ref in card_ids:
        card_id, _, ref_code = ref.partition(":")
        entry: dict = {"card_id": card_id}
        if ref_code:
            entry["code"] = ref_code
        if outer_str:
            entry["outer_str"] = outer_str
        entries.append(entry)
    extra = {"code": code, "openid": openid, "is_unique_code": is_unique_code}
    for key, value in extra.items():
        if value is not None:
            if len(entries) > 1:
                raise click.ClickException(f"--{key.replace('_', '-')} needs exactly one card"
                                           " (give CARD_ID:CODE for several cards)")
            entries[0][key] = value
    body = {"cards": entries}
    if expire_seconds is not None:
        body["expire_seconds"] = expire_seconds
    data = QrCodeRequestSchema().load(body)
    answer = issuing.create_qrcode(svc().redis, svc().wechat, data["cards"],
                                   data.get("expire_seconds"))
    for path, fmt in ((png, "png"), (svg, "svg")):
        if path is not None:
            image, _ = qrimage.render(answer["url"], fmt)
            path.write_bytes(image)
            answer[f"{fmt}_file"] = str(path)
    answer.pop("image_url", None)
    echo_json(answer)


@whitelist.command("set")
@click.option("--openid", "openids", multiple=True, help="A tester's OA openid (repeatable).")
@click.option("--username", "usernames", multiple=True, help="A tester's WeChat ID (repeatable).")
@click.option("--clear", is_flag=True, help="Empty the whitelist.")
@cli_errors
def whitelist_set(openids: tuple[str, ...], usernames: tuple[str, ...], clear: bool) -> None:
    """Replace the test whitelist (at most 10 testers in all)."""
    if not openids and not usernames and not clear:
        raise click.ClickException("give --openid/--username (replaces the list), or --clear")
    data = WhitelistSchema().load({"openid": list(openids), "username": list(usernames)})
    echo_json(issuing.set_whitelist(svc().redis, svc().wechat, data["openid"],
                                     data["username"]))


@profile.command("get")
@click.argument("card_id")
@cli_errors
def profile_get(card_id: str) -> None:
    """Print a card's profile (defaults when never set)."""
    echo_json(get_profile(svc().redis, card_id, fresh=True).as_dict())


@profile.command("set")
@click.argument("card_id")
@click.argument("assignments", nargs=-1, metavar="FIELD=VALUE...")
@click.option("--json", "json_text", help="The fields as one JSON object.")
@cli_errors
def profile_set(card_id: str, assignments: tuple[str, ...], json_text: str | None) -> None:
    """Change a card's profile; omitted fields keep their value.

    VALUE is read as JSON when it parses (true, 3, {"mode": "sequence"}), else as a string.
    """

    data: dict = {}
    if json_text:
        try:
            data = json.loads(json_text)
        except ValueError:
            raise click.ClickException("--json is not valid JSON") from None
        if not isinstance(data, dict):
            raise click.ClickException("--json must be a JSON object")
    for item in assignments:
        name, sep, raw = item.partition("=")
        if not sep or not name:
            raise click.ClickException(f"expected FIELD=VALUE, got {item!r}")
        try:
            data[name] = json.loads(raw)
        except ValueError:
            data[name] = raw
    if not data:
        raise click.ClickException("nothing to set: give FIELD=VALUE or --json")
    checked = ProfileSchema().load(data)  # a ValidationError becomes one line (cli_errors)
    try:
        stored = put_profile(svc().redis, card_id, checked)
    except ValueError as e:
        raise click.ClickException(str(e)) from None
    echo_json(stored.as_dict())


@identities.command("show")
@click.option("--unionid")
@click.option("--mp-openid")
@click.option("--oa-openid")
@cli_errors
def identities_show(unionid: str | None, mp_openid: str | None, oa_openid: str | None) -> None:
    """Print the identity linked to one id (exactly one option)."""
    given = {k: v for k, v in (("unionid", unionid), ("mp_openid", mp_openid),
                               ("oa_openid", oa_openid)) if v}
    if len(given) != 1:
        raise click.ClickException("give exactly one of --unionid, --mp-openid, --oa-openid")
    found = find_identity(svc().redis, **given)
    if found is None:
        raise click.ClickException(f"no identity is known for that {next(iter(given))}")
    echo_json(found.as_dict())


@identities.command("remove")
@click.option("--mp-openid")
@click.option("--oa-openid")
@cli_errors
def identities_remove(mp_openid: str | None, oa_openid: str | None) -> None:
    """Remove a wrong link of one openid (exactly one option); prints what was removed."""
    if bool(mp_openid) == bool(oa_openid):
        raise click.ClickException("give exactly one of --mp-openid, --oa-openid")
    removed = unlink(svc().redis, mp_openid=mp_openid, oa_openid=oa_openid)
    if removed is None:
        raise click.ClickException("no link is known for that openid")
    echo_json(removed.as_dict())


GROUPS = (qrcode, whitelist, codes, cards, identities, members, users, data, stats, broadcasts,
          messages, images, operators_group, audit_log)
# Commands that change nothing; every other one records an audit entry (operator "cli").
READ_ONLY = frozenset({
    "audit", "broadcasts status", "cards activation-form get", "cards get", "cards list",
    "cards profile get", "codes check", "codes count", "identities show", "members changes",
    "members find", "operators list", "stats channels", "stats wechat", "users cards",
})
record_changes(GROUPS, READ_ONLY)
