"""Images for cards and messages: cgi-bin/media/uploadimg (a minimal stand-in).

The multipart ``media`` file, JPG or PNG (checked by its first bytes), at most 1 MB, answers
``{url}`` on WeChat's image host; the image itself is not kept. Errcodes: 41005 no file, 40005
not a JPG or PNG, 40009 over 1 MB.
"""

from __future__ import annotations

import hashlib

from flask import Blueprint, request
from flask.wrappers import Response

from bff.sandbox.core import WeChatError
from bff.sandbox.web import WeChatCall, ok, wechat_api

bp = Blueprint("wx_media", __name__)

MAX_IMAGE_BYTES = 1024 * 1024
SIGNATURES = {b"\xff\xd8\xff": "jpg", b"\x89PNG\r\n\x1a\n": "png"}


@wechat_api(bp, "/cgi-bin/media/uploadimg")
def upload_image(call: WeChatCall) -> Response:
    upload = request.files.get("media")
    if upload is None:
        raise WeChatError(41005, "media data missing")
    data = upload.read(MAX_IMAGE_BYTES + 1)
    kind = next((k for sig, k in SIGNATURES.items() if data.startswith(sig)), None)
    if kind is None:
        raise WeChatError(40005, "invalid file type: JPG or PNG only")
    if len(data) > MAX_IMAGE_BYTES:
        raise WeChatError(40009, "invalid image size: at most 1 MB")
    digest = hashlib.sha1(data).hexdigest()
    return ok(url=f"http://mmbiz.qpic.cn/mmbiz_{kind}/{digest}/0?wx_fmt={kind}")
