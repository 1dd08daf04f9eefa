"""The installed ``bff`` script, in a subprocess: every command of the app's CLI is there and
works, ``--help`` and ``--version`` are bff's, and a refused command is one ``Error:`` line.

The other CLI tests use the app's CLI runner, which sees the commands ``create_app`` attached;
these run the console script as an operator does, before any app exists.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import click
import pytest

REPO = Path(__file__).resolve().parents[1]
BFF = str(Path(sys.executable).with_name("bff")) if Path(sys.executable).with_name(
    "bff").exists() else shutil.which("bff")


def bff(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The console script, run from the repository root."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("BFF_")}
    return subprocess.run([BFF, *args], env={**base, **(env or {})}, cwd=REPO,
                          capture_output=True, text=True, timeout=60)


def listed(help_text: str) -> set[str]:
    """The command names under "Commands:" in click's help."""
    _, _, section = help_text.partition("\nCommands:\n")
    return set(re.findall(r"^  (\S+)", section, re.M))


def groups(command: click.Command, path: tuple[str, ...] = ()) -> Iterator[
        tuple[tuple[str, ...], set[str]]]:
    """Every group of a click tree with its subcommands' names, depth first."""
    if isinstance(command, click.Group):
        ctx = click.Context(command)
        names = set(command.list_commands(ctx))
        yield path, names
        for name in sorted(names):
            yield from groups(command.get_command(ctx, name), (*path, name))


@pytest.fixture
def operator_env(redis_url: str, standalone_wechat: str) -> dict[str, str]:
    """What ``bff dev`` tells another terminal to export."""
    return {"BFF_SANDBOX": "1", "BFF_REDIS_URL": redis_url,
            "BFF_WECHAT_API_BASE": standalone_wechat}


@pytest.mark.slow  # one subprocess per group (about a dozen interpreter starts)
def test_the_installed_bff_has_every_command_of_the_apps_cli(app) -> None:
    app_groups = dict(groups(app.cli))
    assert {"create", "list", "get", "update", "delete", "stock", "activation-form",
            "profile"} <= app_groups[("cards",)]  # the ones the installed script missed
    for path, names in app_groups.items():
        shown = bff(*path, "--help")  # no settings: help never needs them
        assert shown.returncode == 0, (path, shown.stderr)
        missing = names - listed(shown.stdout)
        assert not missing, f"bff {' '.join(path)} --help lacks {sorted(missing)}"


@pytest.mark.slow  # the installed script in subprocesses
def test_bff_help_is_bffs_own_and_version_is_bffs() -> None:
    shown = bff("--help")
    assert shown.returncode == 0, shown.stderr
    for flask_only in ("--env-file", "--app", "--debug", "routes", "shell"):
        assert flask_only not in shown.stdout, shown.stdout
    assert not re.search(r"^  run\b", shown.stdout, re.M), shown.stdout
    assert {"dev", "check", "cards", "codes", "stats", "worker"} <= listed(shown.stdout)
    version = bff("--version")
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == f"bff {metadata.version('bff')}"


@pytest.mark.slow  # the installed script in subprocesses
def test_cards_create_then_get_through_the_installed_script(operator_env) -> None:
    created = bff("cards", "create", "examples/cash-coupon.json", env=operator_env)
    assert created.returncode == 0, created.stderr
    card_id = json.loads(created.stdout)["card_id"]
    example = json.loads((REPO / "examples" / "cash-coupon.json").read_text("utf-8"))

    got = bff("cards", "get", card_id, env=operator_env)
    assert got.returncode == 0, got.stderr
    card = json.loads(got.stdout)
    assert card_id in got.stdout
    title = example["card"]["cash"]["base_info"]["title"]
    assert title in json.dumps(card, ensure_ascii=False)
    assert got.stderr == ""  # no log lines either


@pytest.mark.slow  # the installed script in subprocesses
def test_a_refused_command_is_one_error_line_without_log_lines(operator_env) -> None:
    refused = bff("cards", "get", "pNoSuchCard0000000000000000", env=operator_env)
    assert refused.returncode == 1
    lines = refused.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), refused.stderr

    # asked for, the log lines are there
    logged = bff("cards", "get", "pNoSuchCard0000000000000000",
                 env={**operator_env, "BFF_LOG_LEVEL": "INFO"})
    assert logged.returncode == 1
    assert "wechat call path=/card/get" in logged.stderr
    assert logged.stderr.splitlines()[-1].startswith("Error: ")


@pytest.mark.slow  # the installed script in subprocesses
def test_operators_are_managed_and_audited_through_the_installed_script(operator_env) -> None:
    added = bff("operators", "add", "till-1", "--role", "staff", env=operator_env)
    assert added.returncode == 0, added.stderr
    token = json.loads(added.stdout)["token"]
    assert token.startswith("bffop_") and len(token) >= 40
    assert "not shown again" in added.stderr

    shown = bff("operators", "list", env=operator_env)
    assert shown.returncode == 0, shown.stderr
    [account] = json.loads(shown.stdout)["operators"]
    assert (account["name"], account["role"]) == ("till-1", "staff")
    assert token not in shown.stdout

    rotated = bff("operators", "rotate", "till-1", env=operator_env)
    assert rotated.returncode == 0, rotated.stderr
    new = json.loads(rotated.stdout)["token"]
    assert new != token

    assert bff("operators", "remove", "till-1", env=operator_env).returncode == 0
    again = bff("operators", "remove", "till-1", env=operator_env)
    assert again.returncode == 1
    assert again.stderr.splitlines() == ["Error: no operator is named 'till-1'"]

    log = bff("audit", "--limit", "10", env=operator_env)
    assert log.returncode == 0, log.stderr
    entries = json.loads(log.stdout)["entries"]
    assert [(e["operator"], e["action"], e["status"]) for e in entries] == [
        ("cli", "operators remove", 1), ("cli", "operators remove", 0),
        ("cli", "operators rotate", 0), ("cli", "operators add", 0)]
    assert token not in log.stdout and new not in log.stdout
