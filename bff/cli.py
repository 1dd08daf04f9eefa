"""The ``bff`` command: the operator commands over ``create_app``, ``bff dev`` and ``bff check``.

Every command is attached here, at import, so the installed script finds each one before any
app exists (``bff --help`` needs no settings). The operator commands load the app, with its
settings, only when they run (Flask's ``ScriptInfo``). The same groups are on the app's own
``app.cli`` too, for ``flask --app wsgi ...`` and the tests' CLI runner.
"""

from __future__ import annotations

import os
from importlib import metadata
from typing import Any

import click
from flask.cli import AppGroup, ScriptInfo

from bff.check import check
from bff.dev import dev

# Commands that are services, not one-shot operator commands: they keep the INFO log lines.
SERVICES = frozenset({"worker"})


def _create_app():  # ScriptInfo calls it with no arguments
    from bff import create_app
    from bff.ground.config import ConfigError

    overrides: dict[str, Any] = {}
    if not os.environ.get("BFF_LOG_LEVEL") and _invoked() not in SERVICES:
        # an operator command says what it did on stdout and what went wrong in one
        # "Error: ..." line; the INFO lines of its WeChat calls would come before that line
        overrides["log_level"] = "WARNING"
    try:
        return create_app(overrides)
    except ConfigError as e:  # one line, not a traceback
        raise click.ClickException(
            f"{e}. Set the BFF_* variables (README: Configuration), or BFF_SANDBOX=1 with the "
            "BFF_REDIS_URL and BFF_WECHAT_API_BASE that bff dev prints"
        ) from None


def _invoked() -> str | None:
    """The top-level command being run (``worker``, ``cards``...), when there is one."""
    ctx = click.get_current_context(silent=True)
    return ctx.find_root().invoked_subcommand if ctx is not None else None


def _version() -> str:
    try:
        return metadata.version("bff")
    except metadata.PackageNotFoundError:  # a source tree that was never installed
        return "unknown"


class BffGroup(AppGroup):
    """bff's own commands only (none of Flask's ``run``/``routes``/``shell``/``--app``); each
    operator command gets its app from the ``ScriptInfo`` made here."""

    def make_context(self, info_name: str | None, args: list[str],
                     parent: click.Context | None = None, **extra: Any) -> click.Context:
        if "obj" not in extra and "obj" not in self.context_settings:
            extra["obj"] = ScriptInfo(create_app=_create_app, set_debug_flag=False,
                                      load_dotenv_defaults=False)
        return super().make_context(info_name, args, parent=parent, **extra)


def _operator_commands() -> list[click.Command]:
    """The areas' commands; each loads the app (and its settings) only when it runs."""
    from flask_smorest.spec import openapi_cli  # flask-smorest puts it on every app's CLI

    from bff.edges.admin.cli import GROUPS
    from bff.edges.events.cli import events, worker

    return [*GROUPS, events, worker, openapi_cli]


cli = BffGroup("bff", help="bff: WeChat Cards & Offers backend. Settings: BFF_* variables "
               "(README: Configuration); bff check tests them.")
click.version_option(_version(), "--version", package_name="bff", prog_name="bff",
                     message="%(prog)s %(version)s")(cli)
cli.add_command(dev)
cli.add_command(check)
for _command in _operator_commands():
    cli.add_command(_command)


def main() -> None:
    cli.main(prog_name="bff")
