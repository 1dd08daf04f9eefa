"""``bff codes import|count|check``: the custom-code pipeline on the command line; the
group also holds ``unavailable|update|redeem`` (``bff.edges.admin.cli_members``), added here."""

from __future__ import annotations

import time
from pathlib import Path

import click
from flask.cli import AppGroup

from bff.domain.codes import custom as codes_domain
from bff.domain.codes.importer import CodeImporter, ImportAborted, ImportInterrupted, ImportLocked
from bff.domain.codes.reconcile import check_all, write_report
from bff.edges.admin.cli_buttons import codes_mark
from bff.edges.admin.cli_members import code_redeem, code_unavailable, code_update
from bff.edges.admin.cli_support import FILE, TqdmProgress, cli_errors, echo_json, svc

codes = AppGroup("codes", help="Custom codes deposited into WeChat.")
for _command in (code_unavailable, code_update, code_redeem, codes_mark):
    codes.add_command(_command)


def default_report_path(card_id: str, digest: str, now: float | None = None) -> Path:
    """``artifacts/imports/import-<card>-<sha12>-<UTC time>.json``: git-ignored, one per run."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
    return Path("artifacts", "imports", f"import-{card_id}-{digest[:12]}-{stamp}.json")


@codes.command("import")
@click.argument("card_id")
@click.argument("file", type=FILE)
@click.option("--csv-column", type=click.IntRange(min=1),
              help="The file is CSV; the code is in this column (1 = first).")
@click.option("--skip-header", is_flag=True, help="Ignore the file's first line.")
@click.option("--parallel", type=click.IntRange(1, 32), default=4, show_default=True,
              help="Deposit batches (of 100) in flight at once.")
@click.option("--set-stock", is_flag=True,
              help="Then add the imported count to the card's stock (card/modifystock).")
@click.option("--report", type=click.Path(dir_okay=False, path_type=Path),
              help="Report file, JSON or .csv (default: artifacts/imports/import-<card>-"
                   "<file sha256[:12]>-<UTC time>.json under the current directory, a path "
                   ".gitignore covers; the path is printed as \"report\").")
@click.option("--strict", is_flag=True, help="Refuse the file if any line is invalid.")
@cli_errors
def import_codes(card_id: str, file: Path, csv_column: int | None, skip_header: bool,
                 parallel: int, set_stock: bool, report: Path | None, strict: bool) -> None:
    """Import a code file of any size: validate, deposit, reconcile, report.

    Interrupted? Run the same command again: finished batches are skipped (checkpoint in Redis
    per card and file content). Exit status 1 when a code failed or is missing.
    """
    if report is not None and not report.parent.is_dir():  # not after an hour of importing
        raise click.ClickException(f"the report's directory does not exist: {report.parent}")
    codefile = codes_domain.read_code_file(file, csv_column=csv_column, skip_header=skip_header)
    invalid = [r for r in codefile.rejected if r.status == "invalid"]
    if strict and invalid:
        first = invalid[0]
        raise click.ClickException(
            f"{len(invalid)} invalid line(s); first: line {first.line}: {first.reason}")
    if not codefile.codes:
        raise click.ClickException("the file holds no valid code")
    s = svc()
    importer = CodeImporter(s.redis, s.wechat, card_id, codefile, parallel=parallel,
                            progress=TqdmProgress())
    resumed = len(importer.checkpoint())
    if resumed:
        click.echo(f"resuming: {resumed} of {len(importer.batches)} batches already done",
                   err=True)
    try:
        result = importer.run(set_stock=set_stock)
    except (ImportInterrupted, ImportLocked) as e:
        raise click.ClickException(str(e)) from None
    except ImportAborted as e:
        raise click.ClickException(f"import aborted: {e}") from None
    path = report or default_report_path(card_id, codefile.digest)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_report(result, path)
    summary = {k: result[k] for k in ("card_id", "lines", "summary", "reconciliation",
                                      "stock_added", "complete")}
    summary["report"] = str(path)
    echo_json(summary)
    if not result["complete"]:
        s_ = result["summary"]
        raise click.ClickException(
            f"{s_['failed']} failed and {s_['missing']} missing code(s): see {path}; "
            "rerun the same command to retry them")


@codes.command("count")
@click.argument("card_id")
@cli_errors
def count(card_id: str) -> None:
    """Number of codes deposited for the card."""
    echo_json({"card_id": card_id, "count": codes_domain.deposit_count(svc().wechat, card_id)})


@codes.command("check")
@click.argument("card_id")
@click.argument("code_args", nargs=-1, metavar="[CODE]...")
@click.option("--file", "file", type=FILE, help="Check every code of this file instead.")
@click.option("--csv-column", type=click.IntRange(min=1))
@click.option("--parallel", type=click.IntRange(1, 32), default=4, show_default=True)
@cli_errors
def check(card_id: str, code_args: tuple[str, ...], file: Path | None, csv_column: int | None,
          parallel: int) -> None:
    """Which codes WeChat holds for the card (any number; batches of 100)."""
    if file is not None:
        wanted = codes_domain.read_code_file(file, csv_column=csv_column).codes
    else:
        wanted = list(dict.fromkeys(code_args))
    if not wanted:
        raise click.ClickException("give codes, or --file")
    progress = TqdmProgress() if len(wanted) > 1000 else None
    present = check_all(svc().wechat, card_id, wanted, parallel=parallel, progress=progress)
    missing = [c for c in wanted if c not in present]
    echo_json({"card_id": card_id, "checked": len(wanted), "exist": len(wanted) - len(missing),
               "not_exist_code": missing})
    if missing:
        raise click.ClickException(f"{len(missing)} of {len(wanted)} code(s) are not in WeChat")
