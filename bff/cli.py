"""The ``bff`` command: Flask's CLI over ``create_app``, plus ``bff dev`` for a first minute."""

from __future__ import annotations

import click
from flask.cli import FlaskGroup, NoAppException, ScriptInfo

from bff.dev import dev


def _create_app():  # FlaskGroup calls it with no arguments
    from bff import create_app
    from bff.config import ConfigError

    try:
        return create_app()
    except ConfigError as e:  # one line, not a traceback
        raise click.ClickException(
            f"{e}. Set the BFF_* variables (README: Configuration), or BFF_SANDBOX=1 with the "
            "BFF_REDIS_URL and BFF_WECHAT_API_BASE that bff dev prints"
        ) from None


class BffGroup(FlaskGroup):
    """Lists the operator commands without settings, so ``bff --help`` works on a bare machine."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = set(click.Group.list_commands(self, ctx))
        try:
            names.update(ctx.ensure_object(ScriptInfo).load_app().cli.list_commands(ctx))
        except (click.ClickException, NoAppException):
            pass  # no settings: the commands registered below still show
        return sorted(names)


def _operator_commands() -> list[click.Command]:
    """The areas' commands; each loads the app (and its settings) only when it runs."""
    from bff.admin.cli import GROUPS
    from bff.events.cli import events, worker

    return [*GROUPS, events, worker]


cli = BffGroup(create_app=_create_app, help="bff: WeChat Cards & Offers backend.")
cli.add_command(dev)
for _command in _operator_commands():
    cli.add_command(_command)


def main() -> None:
    cli.main()
