"""``bff members change|changes|find``, ``bff codes unavailable|update|redeem`` and
``bff users cards``: member changes and code administration on the command line.

The ``codes`` commands here are plain commands that ``bff.edges.admin.cli_codes``, where the
``codes``
group is defined, adds to it."""

from __future__ import annotations

import getpass

import click
from flask.cli import AppGroup, with_appcontext

from bff.domain import redemption
from bff.domain.codes import admin as code_admin
from bff.domain.members import change_ledger
from bff.domain.members import changes as changes_domain
from bff.domain.members.members import find_members
from bff.edges.admin.cli_support import cli_errors, echo_json, svc
from bff.edges.admin.member_schemas import (
    CodeUpdateRequestSchema,
    MemberChangeSchema,
    MembersQuerySchema,
    UnavailableRequestSchema,
)
from bff.edges.admin.schemas import RedeemRequestSchema
from bff.edges.http.idempotency import RequiredIdempotencyKeySchema

members = AppGroup("members", help="Member cards: bonus and balance changes, lookup.")
users = AppGroup("users", help="Users as WeChat sees them.")


def _operator() -> str:
    try:
        return f"cli:{getpass.getuser()}"[:64]
    except (KeyError, OSError):
        return "cli"


@members.command("change")
@click.argument("card_id")
@click.argument("code")
@click.option("--key", required=True, help="Idempotency-Key: the same key again is a retry.")
@click.option("--add-bonus", type=int, help="Points to add (negative: spend).")
@click.option("--bonus", type=int, help="The new bonus total.")
@click.option("--add-balance", type=int, help="Fen to add (negative: spend).")
@click.option("--balance", type=int, help="The new balance total (fen).")
@click.option("--record", help="Why, shown to the member (for bonus and/or balance).")
@click.option("--record-bonus", help="Why, for the bonus change only.")
@click.option("--record-balance", help="Why, for the balance change only.")
@click.option("--custom-field", "custom_fields", multiple=True, metavar="SLOT=VALUE",
              help="custom_field_value1..3, e.g. 1=Gold (repeatable).")
@click.option("--background-pic-url")
@click.option("--notify-bonus/--no-notify-bonus", default=None)
@click.option("--notify-balance/--no-notify-balance", default=None)
@click.option("--by", help="Who makes the change (default cli:<login>).")
@cli_errors
def member_change(card_id: str, code: str, key: str, add_bonus: int | None, bonus: int | None,
                  add_balance: int | None, balance: int | None, record: str | None,
                  record_bonus: str | None, record_balance: str | None,
                  custom_fields: tuple[str, ...], background_pic_url: str | None,
                  notify_bonus: bool | None, notify_balance: bool | None,
                  by: str | None) -> None:
    """Change a member's bonus and balance once per --key (card/membercard/updateuser)."""
    bonus_changes = add_bonus is not None or bonus is not None
    balance_changes = add_balance is not None or balance is not None
    body: dict = {"add_bonus": add_bonus, "bonus": bonus, "add_balance": add_balance,
                  "balance": balance, "background_pic_url": background_pic_url,
                  "record_bonus": record_bonus or (record if bonus_changes else None),
                  "record_balance": record_balance or (record if balance_changes else None),
                  "by": by or _operator()}
    if custom_fields:
        slots = {}
        for item in custom_fields:
            slot, sep, value = item.partition("=")
            if not sep:
                raise click.ClickException(f"expected SLOT=VALUE, got {item!r}")
            slots[slot] = value
        body["custom_field_values"] = slots
    notify = {k: v for k, v in (("bonus", notify_bonus), ("balance", notify_balance))
              if v is not None}
    if notify:
        body["notify"] = notify
    data = MemberChangeSchema().load({k: v for k, v in body.items() if v is not None})
    checked_key = RequiredIdempotencyKeySchema().load({"Idempotency-Key": key})["key"]
    s = svc()
    who = data.pop("by")
    answer, created = changes_domain.change_member(s.redis, s.wechat, card_id=card_id,
                                                   code=code, key=checked_key, body=data, by=who,
                                                   clock=s.clock)
    echo_json({**answer, "replayed": not created})


@members.command("changes")
@click.argument("card_id")
@click.argument("code")
@cli_errors
def member_changes(card_id: str, code: str) -> None:
    """Print the member's ledger (who, why, when, before and after, source)."""
    echo_json({"changes": change_ledger.ledger(svc().redis, card_id, code)})


@members.command("find")
@click.option("--code")
@click.option("--membership-number")
@click.option("--oa-openid")
@cli_errors
def member_find(code: str | None, membership_number: str | None, oa_openid: str | None) -> None:
    """Find members by code, membership number and OA openid (every one given)."""
    query = MembersQuerySchema().load({k: v for k, v in (
        ("code", code), ("membership_number", membership_number), ("oa_openid", oa_openid))
        if v})
    if not query:
        raise click.ClickException("give --code, --membership-number or --oa-openid")
    s = svc()
    echo_json({"members": find_members(s.redis, s.settings, **query)})


@click.command("unavailable")
@click.argument("card_id")
@click.argument("code")
@click.option("--reason", help="Why (kept by WeChat).")
@with_appcontext
@cli_errors
def code_unavailable(card_id: str, code: str, reason: str | None) -> None:
    """Make a code unavailable (card/code/unavailable); irreversible."""
    data = UnavailableRequestSchema().load({"card_id": card_id, "code": code,
                                            **({"reason": reason} if reason else {})})
    s = svc()
    echo_json(code_admin.make_unavailable(s.redis, s.wechat, card_id=data["card_id"],
                                          code=data["code"], reason=data.get("reason")))


@click.command("update")
@click.argument("card_id")
@click.argument("code")
@click.argument("new_code")
@with_appcontext
@cli_errors
def code_update(card_id: str, code: str, new_code: str) -> None:
    """Change a custom code (card/code/update); the holdings index follows."""
    data = CodeUpdateRequestSchema().load({"card_id": card_id, "code": code,
                                           "new_code": new_code})
    s = svc()
    echo_json(code_admin.change_code(s, **data))


@click.command("redeem")
@click.argument("code")
@click.option("--card-id")
@click.option("--key", help="Idempotency-Key: the same key again gets the first answer.")
@click.option("--staff-id")
@click.option("--location")
@with_appcontext
@cli_errors
def code_redeem(code: str, card_id: str | None, key: str | None, staff_id: str | None,
                location: str | None) -> None:
    """Redeem a code at the counter once (a second redemption fails, saying when and where)."""
    data = RedeemRequestSchema().load({k: v for k, v in (
        ("code", code), ("card_id", card_id), ("staff_id", staff_id), ("location", location))
        if v})
    if key is not None:
        key = RequiredIdempotencyKeySchema().load({"Idempotency-Key": key})["key"]
    s = svc()
    echo_json(redemption.redeem_once(s.redis, s.wechat, card_id=data.get("card_id"),
                                 code=data["code"], staff_id=data.get("staff_id"),
                                 location=data.get("location"), channel="counter",
                                 idempotency_key=key))


@users.command("cards")
@click.argument("oa_openid")
@click.option("--card-id", help="Only this card.")
@cli_errors
def user_cards(oa_openid: str, card_id: str | None) -> None:
    """A user's cards as WeChat sees them (card/user/getcardlist), reconciled into holdings."""
    s = svc()
    echo_json(code_admin.user_cards(s.redis, s.wechat, oa_openid, card_id))
