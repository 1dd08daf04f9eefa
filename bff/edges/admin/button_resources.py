"""Operator endpoints for WeChat's own card buttons (self-redemption, quick pay), online
redemption marks, and card images."""

from __future__ import annotations

from typing import Any

from flask import request
from flask.views import MethodView

from bff.domain import card_buttons, images
from bff.edges.admin.button_schemas import (
    CodeMarkSchema,
    ImageSchema,
    ImageUploadSchema,
    PayCellOutSchema,
    PayCellSchema,
    SelfConsumeCellOutSchema,
    SelfConsumeCellSchema,
)
from bff.edges.http.admin_auth import ADMIN, MARKETING, admin_blueprint, operation
from bff.edges.http.openapi import CARD_CALL_FAILURES, UPSTREAM_FAILURES
from bff.edges.http.request_guard import body_limit
from bff.ground.config import SANDBOX_INTERNAL_BASE
from bff.ground.errors import Unprocessable
from bff.ground.services import services

blp = admin_blueprint("admin-card-buttons", __name__,
                      "Operators: WeChat's buttons on a card, online redemption marks, images")
BUTTON_CONFLICT = {409: "WeChat refuses it for the card's status, or the account lacks the "
                        "card permission"}
# A multipart body with a 1 MB image and its form framing.
IMAGE_BODY_BYTES = images.MAX_IMAGE_BYTES + 64 * 1024


@blp.route("/cards/<card_id:card_id>/self-consume-cell")
class SelfConsumeCell(MethodView):
    @blp.arguments(SelfConsumeCellSchema)
    @operation(blp, (200, SelfConsumeCellOutSchema),
               fallbacks=(BUTTON_CONFLICT, *CARD_CALL_FAILURES), roles=(MARKETING,))
    def put(self, data: dict[str, Any], card_id: str) -> dict[str, Any]:
        """Show or hide the holder's self-redemption button (card/selfconsumecell/set)

        WeChat's own button: the holder redeems the code in the card, with no server call.
        The service's ``POST /v1/cards/codes/redeem`` (profile ``self_redeem``) is separate.
        """
        return card_buttons.set_self_consume_cell(services().wechat, card_id, data["is_open"],
                                                  data["need_verify_cod"],
                                                  data["need_remark_amount"])


@blp.route("/cards/<card_id:card_id>/pay-cell")
class PayCell(MethodView):
    @blp.arguments(PayCellSchema)
    @operation(blp, (200, PayCellOutSchema),
               fallbacks=(BUTTON_CONFLICT, *CARD_CALL_FAILURES), roles=(MARKETING,))
    def put(self, data: dict[str, Any], card_id: str) -> dict[str, Any]:
        """Show or hide WeChat Pay's quick-pay button on the card (card/paycell/set)"""
        return card_buttons.set_pay_cell(services().wechat, card_id, data["is_open"])


@blp.route("/codes/mark")
class CodeMark(MethodView):
    @blp.arguments(CodeMarkSchema)
    @operation(blp, (200, CodeMarkSchema),
               errors={404: "unknown card_id (40073), code (40056) or openid (40003)",
                       409: "another openid's order has marked the code (40145), or it is "
                            "redeemed, deleted or being given away"},
               fallbacks=(UPSTREAM_FAILURES,), roles=(ADMIN,))
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Mark a code for a user's online order, or release it (card/code/mark)

        While marked by one openid, WeChat refuses another openid's mark of the code.
        """
        return card_buttons.mark_code(services().wechat, data["card_id"], data["code"],
                                      data["openid"], data["is_mark"])


@blp.route("/images")
class Images(MethodView):
    @body_limit(IMAGE_BODY_BYTES)  # larger than BFF_MAX_BODY_BYTES (64 KiB by default)
    @blp.arguments(ImageUploadSchema, location="files")
    @operation(blp, (201, ImageSchema),
               errors={413: "the image is over 1 MB",
                       415: "the file is not a JPG or PNG (judged by its bytes)",
                       422: "no file part, another form field, or an empty file"},
               fallbacks=(UPSTREAM_FAILURES,), roles=(MARKETING,))
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Upload an image for cards (media/uploadimg): its URL on WeChat's image host

        The URL is what ``logo_url``, ``background_pic_url`` and landing-page banners take.
        A file that is not a JPG/PNG, or is over 1 MB, is refused before any call to WeChat.
        """
        upload = data["file"]
        extra = sorted(set(request.form) | (set(request.files) - {"file"}))
        if extra:  # the files schema sees only file parts: a stray field is refused here
            upload.close()
            raise Unprocessable("unknown form field", errors={name: ["Unknown field."]
                                                              for name in extra})
        try:
            body = upload.stream.read(images.MAX_IMAGE_BYTES + 1)
        finally:
            upload.close()  # a large part is spooled to a temporary file
        url = images.upload_card_image(services().wechat, body)
        if url.startswith(SANDBOX_INTERNAL_BASE + "/"):  # the mounted sandbox, as pages reach it
            url = request.host_url + "sandbox/" + url[len(SANDBOX_INTERNAL_BASE) + 1:]
        return {"url": url}
