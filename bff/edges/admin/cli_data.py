"""``bff data rekey``: re-seal data at rest under the current ``BFF_DATA_KEY`` (key rotation)."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup
from tqdm import tqdm

from bff.domain import rekey as rekey_domain
from bff.edges.admin.cli_support import cli_errors, echo_json, svc

data = AppGroup("data", help="Data at rest (sealed with BFF_DATA_KEY).")


@data.command("rekey")
@click.option("--restart", is_flag=True, help="Ignore the checkpoint of an unfinished pass.")
@click.option("--count", type=click.IntRange(10, 10000), default=rekey_domain.SCAN_COUNT,
              show_default=True, help="Keys per SCAN batch (one checkpoint each).")
@cli_errors
def rekey(restart: bool, count: int) -> None:
    """Re-seal every sealed value under BFF_DATA_KEY; values of BFF_DATA_KEY_PREVIOUS move over.

    Interrupted? Run it again: it continues from the checkpoint in Redis. Exit status 1 when a
    value opens with neither key (it is listed and left as it is).
    """
    s = svc()
    if not s.settings.data_key_previous:
        click.echo("note: BFF_DATA_KEY_PREVIOUS is not set; only values already under "
                   "BFF_DATA_KEY (or legacy formats) can be read", err=True)
    state = {} if restart else rekey_domain.checkpoint(s.redis, s.settings)
    initial = 0 if state.get("finished_at") else int(state.get("scanned") or 0)
    if initial:
        click.echo(f"resuming: {initial} keys already scanned", err=True)
    bar = tqdm(total=max(rekey_domain.total_keys(s.redis), initial), initial=initial,
               desc="rekey", unit="key", file=sys.stderr, dynamic_ncols=True, mininterval=0.2)
    try:
        result = rekey_domain.rekey(s.redis, s.settings, count=count, restart=restart,
                                    on_batch=bar.update)
    except rekey_domain.RekeyInterrupted as e:
        raise click.ClickException(str(e)) from None
    finally:
        bar.close()
    echo_json(result.as_dict())
    if result.unreadable:
        raise click.ClickException(
            f"{result.unreadable} sealed value(s) open with neither key; they were left as they "
            "are (first ones listed above)")
