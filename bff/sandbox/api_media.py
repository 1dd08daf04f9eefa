"""Images for cards: ``cgi-bin/media/uploadimg`` and the image host that serves what it stored.

WeChat's upload takes a JPG or PNG of at most 1 MB in the multipart field ``buffer`` and
answers ``{url}`` on its image host (``http://mmbiz.qpic.cn/mmbiz_png/<id>/0``); card/create
and card/update take only such URLs for ``logo_url`` and ``background_pic_url``. The sandbox
keeps the image in Redis and serves it itself, at the same path shape under its own base:
``<sandbox>/mmbiz.qpic.cn/mmbiz_png/<id>/0``. Errcodes: 41005 no file, 40005 not a JPG/PNG
(judged by its bytes, as WeChat does), 40009 over 1 MB.
"""

from __future__ import annotations

import base64
import re
import secrets
from urllib.parse import urlsplit

from flask import Blueprint, abort
from flask.wrappers import Response

from bff.sandbox.core import WeChatError
from bff.sandbox.web import WeChatCall, ok, sandbox, wechat_api

bp = Blueprint("wx_media", __name__)

MAX_IMAGE_BYTES = 1024 * 1024
WECHAT_IMAGE_HOSTS = ("mmbiz.qpic.cn", "mmbiz.qlogo.cn")
IMAGE_HOST_PATH = "/mmbiz.qpic.cn"  # the sandbox's stand-in for WeChat's image host
OWN_IMAGE = re.compile(r"/mmbiz\.qpic\.cn/mmbiz_(png|jpg)/([0-9a-f]{32})/0$")
MAGIC = {b"\xff\xd8\xff": ("jpg", "image/jpeg"), b"\x89PNG\r\n\x1a\n": ("png", "image/png")}
IMAGE_TTL = 30 * 86400  # garbage collection: a sandbox's uploads need not live forever


def card_image_url_ok(url: object) -> bool:
    """The sandbox's one rule for a card's picture URL: http(s) on WeChat's image host, or an
    image this sandbox serves (its own uploads' shape)."""
    if not isinstance(url, str):
        return False
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not host:
        return False
    return host in WECHAT_IMAGE_HOSTS or OWN_IMAGE.search(parts.path) is not None


def _kind(data: bytes) -> tuple[str, str] | None:
    for magic, kind in MAGIC.items():
        if data.startswith(magic):
            return kind
    return None


@wechat_api(bp, "/cgi-bin/media/uploadimg")
def upload_image(call: WeChatCall) -> Response:
    sb = call.sb
    files = call.request.files
    upload = files.get("buffer") or files.get("media")
    if upload is None:
        raise WeChatError(41005, "media data missing")
    try:
        data = upload.read(MAX_IMAGE_BYTES + 1)
    finally:
        upload.close()  # a large part is spooled to a temporary file
    if len(data) > MAX_IMAGE_BYTES:
        raise WeChatError(40009, "invalid image size")
    kind = _kind(data)
    if kind is None:
        raise WeChatError(40005, "invalid file type")
    image_id = secrets.token_hex(16)
    sb.r.set(sb.keys.image(image_id), f"{kind[0]} " + base64.b64encode(data).decode("ascii"),
             ex=IMAGE_TTL)
    base = call.request.host_url.rstrip("/") + call.request.script_root
    return ok(url=f"{base}{IMAGE_HOST_PATH}/mmbiz_{kind[0]}/{image_id}/0")


@bp.get(f"{IMAGE_HOST_PATH}/mmbiz_<ext>/<image_id>/0")
def serve_image(ext: str, image_id: str) -> Response:
    """The image host: an uploaded image, as WeChat's CDN serves it."""
    if not re.fullmatch(r"[0-9a-f]{32}", image_id):
        abort(404)
    sb = sandbox()
    stored = sb.r.get(sb.keys.image(image_id))
    if not stored:
        abort(404)
    kind, _, data = stored.partition(" ")
    if kind != ext:
        abort(404)
    response = Response(base64.b64decode(data),
                        mimetype="image/png" if kind == "png" else "image/jpeg")
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response
