"""Operator endpoints for issuing: QR codes and their images, landing pages, article HTML,
test whitelist."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask.views import MethodView
from marshmallow import RAISE

from bff.domain import issuing
from bff.edges.admin import qrimage
from bff.edges.admin.schemas import (
    ArticleHtmlSchema,
    LandingPageRequestSchema,
    LandingPageSchema,
    QrCodeRequestSchema,
    QrCodeSchema,
    QrImageQuerySchema,
    WhitelistSchema,
)
from bff.edges.http.admin_auth import MARKETING, admin_blueprint, operation, roles
from bff.edges.http.openapi import (
    CARD_CALL_FAILURES,
    NOT_ISSUABLE_ANSWER,
    UNKNOWN_CARD_ANSWER,
    UPSTREAM_FAILURES,
)
from bff.ground.services import services

blp = admin_blueprint("admin-issuing", __name__,
                      "Operators: issuing cards (QR codes, landing pages, articles, testers)")


@blp.route("/qrcodes")
class QrCodes(MethodView):
    @blp.arguments(QrCodeRequestSchema)
    @operation(blp, (201, QrCodeSchema),
               errors={404: "unknown card_id (40073), or an openid this Official Account does not "
                            "know (40003)",
                       422: "invalid cards, fields or expire_seconds; a field the card needs "
                            "(its code, its openid) is missing"},
               fallbacks=(NOT_ISSUABLE_ANSWER, UPSTREAM_FAILURES), roles=(MARKETING,))
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Create a card QR code (one card: QR_CARD; 2–5 cards: QR_MULTIPLE_CARD)

        ``image_url`` renders ``url`` as PNG (``format=svg`` for SVG) on this service.
        """
        svc = services()
        return issuing.create_qrcode(svc.redis, svc.wechat, data["cards"],
                                     data.get("expire_seconds"))


@blp.route("/qrcodes/image")
class QrImage(MethodView):
    @blp.doc(responses={"200": {
        "description": "the QR image",
        "content": {"image/png": {"schema": {"type": "string", "format": "binary"}},
                    "image/svg+xml": {"schema": {"type": "string"}}},
    }})
    @blp.arguments(QrImageQuerySchema, location="query", unknown=RAISE)
    @blp.alt_response(422, description="url is not an absolute http(s) URL of ≤1024 characters")
    @roles(MARKETING)
    def get(self, args: dict[str, Any]) -> Response:
        """Render a QR code's url as PNG or SVG (locally; nothing is fetched)"""
        body, mimetype = qrimage.render(args["url"], args["format"], scale=args["scale"],
                                        border=args["border"])
        response = Response(body, mimetype=mimetype)
        response.headers["Cache-Control"] = "private, max-age=3600"
        response.headers["Content-Disposition"] = f'inline; filename="qrcode.{args["format"]}"'
        return response


@blp.route("/landing-pages")
class LandingPages(MethodView):
    @blp.arguments(LandingPageRequestSchema)
    @operation(blp, (201, LandingPageSchema),
               errors={422: "missing field, unknown scene or empty card_list; a custom-code card "
                            "whose codes were never imported"},
               fallbacks=(NOT_ISSUABLE_ANSWER, UNKNOWN_CARD_ANSWER, UPSTREAM_FAILURES),
               roles=(MARKETING,))
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Create a landing page (gallery) offering one or more cards"""
        svc = services()
        return issuing.create_landing_page(svc.redis, svc.wechat, data)


@blp.route("/cards/<card_id:card_id>/article-html")
class ArticleHtml(MethodView):
    @operation(blp, (200, ArticleHtmlSchema), fallbacks=CARD_CALL_FAILURES, roles=(MARKETING,))
    def get(self, card_id: str) -> dict[str, Any]:
        """HTML that inserts the card into an Official Account article"""
        return issuing.article_html(services().wechat, card_id)


@blp.route("/test-whitelist")
class TestWhitelist(MethodView):
    @blp.arguments(WhitelistSchema)
    @operation(blp, (200, WhitelistSchema),
               errors={404: "an openid this Official Account does not know (40003)",
                       422: "no list given, more than 10 testers in all, or one repeated"},
               fallbacks=(UPSTREAM_FAILURES,), roles=(MARKETING,))
    def put(self, data: dict[str, Any]) -> dict[str, Any]:
        """Replace the test whitelist (openids and usernames, at most 10 in all)"""
        svc = services()
        return issuing.set_whitelist(svc.redis, svc.wechat, data["openid"], data["username"])
