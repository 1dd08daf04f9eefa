"""``bff images upload``, ``bff cards self-consume-cell|pay-cell``, ``bff codes mark``.

The commands for WeChat's own card buttons, online redemption marks and card images; the
``cards`` and ``codes`` groups add theirs where they are defined."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup, with_appcontext

from bff.domain import card_buttons
from bff.domain import images as card_images
from bff.edges.admin.button_schemas import CodeMarkSchema
from bff.edges.admin.cli_support import FILE, cli_errors, echo_json, svc

images = AppGroup("images", help="Images for cards (logo, background, banners).")


@images.command("upload")
@click.argument("file", type=FILE)
@cli_errors
def images_upload(file: Path) -> None:
    """Upload a JPG/PNG of at most 1 MB (media/uploadimg); prints its url."""
    with file.open("rb") as f:
        data = f.read(card_images.MAX_IMAGE_BYTES + 1)
    echo_json({"url": card_images.upload_card_image(svc().wechat, data)})


@click.command("self-consume-cell")
@click.argument("card_id")
@click.option("--open/--close", "is_open", required=True,
              help="Show or hide the holder's self-redemption button.")
@click.option("--need-verify-cod", is_flag=True, help="The holder types the store's code.")
@click.option("--need-remark-amount", is_flag=True, help="The holder types the amount spent.")
@with_appcontext
@cli_errors
def cards_self_consume_cell(card_id: str, is_open: bool, need_verify_cod: bool,
                            need_remark_amount: bool) -> None:
    """WeChat's self-redemption button on the card (card/selfconsumecell/set)."""
    echo_json(card_buttons.set_self_consume_cell(svc().wechat, card_id, is_open,
                                                 need_verify_cod, need_remark_amount))


@click.command("pay-cell")
@click.argument("card_id")
@click.option("--open/--close", "is_open", required=True,
              help="Show or hide WeChat Pay's quick-pay button.")
@with_appcontext
@cli_errors
def cards_pay_cell(card_id: str, is_open: bool) -> None:
    """WeChat Pay's quick-pay button on the card (card/paycell/set)."""
    echo_json(card_buttons.set_pay_cell(svc().wechat, card_id, is_open))


@click.command("mark")
@click.argument("card_id")
@click.argument("code")
@click.option("--openid", required=True, help="The OA openid whose order uses the code.")
@click.option("--release", is_flag=True, help="Release the mark instead (is_mark false).")
@with_appcontext
@cli_errors
def codes_mark(card_id: str, code: str, openid: str, release: bool) -> None:
    """Mark a code for a user's online order, or release it (card/code/mark)."""
    data = CodeMarkSchema().load({"card_id": card_id, "code": code, "openid": openid,
                                  "is_mark": not release})
    echo_json(card_buttons.mark_code(svc().wechat, data["card_id"], data["code"],
                                     data["openid"], data["is_mark"]))
