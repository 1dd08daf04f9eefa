"""``bff operators add|list|remove|rotate`` and ``bff audit``; ``record_changes`` puts every
state-changing command in the audit log (operator ``cli``)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

import click
from flask import has_app_context
from flask.cli import AppGroup, ScriptInfo, with_appcontext

from bff.domain import audit, operators
from bff.domain.operators import ADMIN, CLI, ROLES
from bff.edges.admin.cli_support import cli_errors, echo_json, svc
from bff.edges.admin.operator_schemas import AuditQuerySchema
from bff.ground.services import services

operators_group = AppGroup("operators", help="Operator accounts: a name, a role (staff, "
                           "marketing, admin) and a token each.")


@operators_group.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True,
              help="staff: query and redeem codes; marketing: cards, issuing, broadcasts, "
                   "statistics, reading members and events; admin: everything.")
@cli_errors
def operators_add(name: str, role: str) -> None:
    """Add an operator; prints its token, once (only its hash is kept)."""
    token = operators.add(svc().redis, name, role)
    echo_json({"name": name, "role": role, "token": token})
    click.echo("Keep the token now: it is not shown again (bff operators rotate makes a new "
               "one).", err=True)


@operators_group.command("list")
@cli_errors
def operators_list() -> None:
    """Every operator: name, role, when added and last rotated (never a token)."""
    echo_json({"operators": operators.list_all(svc().redis)})


@operators_group.command("remove")
@click.argument("name")
@cli_errors
def operators_remove(name: str) -> None:
    """Remove an operator: its token and console sessions stop working at once."""
    operators.remove(svc().redis, name)
    echo_json({"removed": name})


@operators_group.command("rotate")
@click.argument("name")
@cli_errors
def operators_rotate(name: str) -> None:
    """A new token for an operator, printed once; the old one and its sessions end now."""
    token = operators.rotate(svc().redis, name)
    account = operators.get(svc().redis, name) or {}
    echo_json({"name": name, "role": account.get("role"), "token": token})
    click.echo("Keep the token now: it is not shown again.", err=True)


@click.command("audit")
@click.option("--limit", type=int, default=50, show_default=True, help="1-500 entries.")
@click.option("--before", help="The previous page's next_before: older entries.")
@with_appcontext
@cli_errors
def audit_log(limit: int, before: str | None) -> None:
    """Who changed what (requests and commands), newest first."""
    query = AuditQuerySchema().load({"limit": limit, **({"before": before} if before else {})})
    entries, next_before = audit.read(svc().redis, **query)
    echo_json({"entries": entries, "next_before": next_before})


def _record(name: str, arguments: list[str], status: int) -> None:
    try:
        if has_app_context():
            redis_client = services().redis
        else:  # the command's app context is gone; ScriptInfo keeps the app it loaded
            info = click.get_current_context().ensure_object(ScriptInfo)
            redis_client = services(info.load_app()).redis
        audit.record(redis_client, operator=CLI, role=ADMIN, via="cli", action=name,
                     method="CLI", path=" ".join(["bff", name, *arguments]), status=status,
                     request_id=None)
    except Exception as e:  # noqa: BLE001 - the command's own outcome stands
        if status == 0:  # it changed something: say the entry is missing
            click.echo(f"Warning: the audit entry was not recorded ({type(e).__name__})",
                       err=True)


def _arguments(command: click.Command, values: dict[str, Any]) -> list[str]:
    """The command's positional arguments (ids, file names); never its options, which may hold
    data (--json)."""
    shown: list[str] = []
    for param in command.params:
        if isinstance(param, click.Argument) and values.get(param.name or "") is not None:
            value = values[param.name or ""]
            shown.extend(map(str, value) if isinstance(value, (tuple, list)) else [str(value)])
    return shown


def _audited(name: str, command: click.Command) -> Callable[..., Any]:
    callback = command.callback
    assert callback is not None

    @functools.wraps(callback)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        status = 1
        try:
            result = callback(*args, **kwargs)
            status = 0
            return result
        except click.exceptions.Exit as e:
            status = e.exit_code
            raise
        finally:
            _record(name, _arguments(command, kwargs), status)

    return wrapper


def record_changes(commands: Iterable[click.Command], read_only: frozenset[str]) -> None:
    """Every command under ``commands`` but the ``read_only`` ones (by path, ``cards get``)
    records an audit entry when it ends: operator ``cli``, its exit status."""
    stack = [(command.name or "", command) for command in commands]
    while stack:
        name, command = stack.pop()
        if isinstance(command, click.Group):
            stack.extend((f"{name} {sub}", c) for sub, c in command.commands.items())
        elif name not in read_only and command.callback is not None:
            command.callback = _audited(name, command)
