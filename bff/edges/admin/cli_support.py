"""Shared pieces of the operator command line: error handling, JSON output, a progress bar."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from marshmallow import ValidationError
from tqdm import tqdm

from bff.domain.codes.reconcile import Progress
from bff.domain.operators import OperatorError
from bff.ground.errors import DomainError
from bff.ground.services import Services, services
from bff.ground.store import STORE_ERRORS
from bff.ground.wechat.credentials import CredentialStoreUnavailable
from bff.ground.wechat.errors import WeChatApiError, WeChatError

# A FILE argument or option: a file that exists (not a directory), given to the command as a Path.
FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def svc() -> Services:
    return services()


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=1))


def flatten(messages: Any, prefix: str = "") -> str:
    """marshmallow's nested messages as ``field: message; ...`` on one line."""
    if isinstance(messages, dict):
        parts = []
        for key, value in messages.items():
            name = prefix if key == "_schema" else f"{prefix}.{key}" if prefix else str(key)
            parts.append(flatten(value, name))
        return "; ".join(parts)
    if isinstance(messages, list):
        text = " ".join(str(m) for m in messages)
        return f"{prefix}: {text}" if prefix else text
    return f"{prefix}: {messages}" if prefix else str(messages)


def cli_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Every failure becomes one clear line on stderr and a non-zero exit (ClickException)."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except ValidationError as e:
            raise click.ClickException(f"invalid input: {flatten(e.messages)}") from None
        except DomainError as e:
            suffix = f" (errcode {e.errcode})" if e.errcode is not None else ""
            raise click.ClickException(f"{e.message}{suffix}") from None
        except OperatorError as e:  # an account cannot be added, removed or rotated
            raise click.ClickException(str(e)) from None
        except WeChatApiError as e:
            raise click.ClickException(
                f"WeChat refused {e.path} (errcode {e.errcode}): {e.errmsg}") from None
        except WeChatError as e:
            raise click.ClickException(f"WeChat could not be reached: {e.errmsg}") from None
        except (*STORE_ERRORS, CredentialStoreUnavailable) as e:
            raise click.ClickException(f"Redis is unavailable ({type(e).__name__})") from None
        except OSError as e:  # e.g. --png/--report in a directory that does not exist
            where = f": {e.filename}" if e.filename else ""
            raise click.ClickException(f"{e.strerror or type(e).__name__}{where}") from None

    return wrapper


class TqdmProgress(Progress):
    """A bar on stderr with rate and ETA, one per stage (deposit, check)."""

    def __init__(self) -> None:
        self.bar: tqdm | None = None

    def start(self, stage: str, total: int, initial: int = 0) -> None:
        self.close()
        self.bar = tqdm(total=total, initial=initial, desc=stage, unit="code", file=sys.stderr,
                        dynamic_ncols=True, mininterval=0.2, smoothing=0.1)

    def advance(self, n: int) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
