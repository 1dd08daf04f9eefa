"""Images for cards: what WeChat's ``media/uploadimg`` takes, and which URLs a card's
``logo_url`` / ``background_pic_url`` may carry.

WeChat shows a card's pictures only from its own image host, so an image is uploaded first
(``media/uploadimg``: JPG or PNG, at most 1 MB) and the URL it answers goes into the card. The
file is judged by its bytes (the magic numbers), never by its name or Content-Type, before any
call. The sandbox answers URLs it serves itself, shaped as WeChat's
(``http://<sandbox>/mmbiz.qpic.cn/mmbiz_png/<id>/0``); in sandbox mode those are accepted too.
"""

from __future__ import annotations

import re

from bff.ground.errors import (
    PayloadTooLarge,
    Refusals,
    Unprocessable,
    UnsupportedMediaType,
    refusals,
)
from bff.ground.wechat.api import WeChatApi

MAX_IMAGE_BYTES = 1024 * 1024  # WeChat's limit for media/uploadimg
# The sandbox's own image URLs (bff/sandbox/api_media.py mints them).
MAGIC = {b"\xff\xd8\xff": ("jpg", "image/jpeg"), b"\x89PNG\r\n\x1a\n": ("png", "image/png")}
# WeChat's refusals of the file itself (its type, its size).
IMAGE_REFUSALS: Refusals = {40005: (UnsupportedMediaType, "WeChat refused the file type: {errmsg}"),
                  40009: (Unprocessable, "WeChat refused the image size: {errmsg}")}


def image_kind(data: bytes) -> tuple[str, str] | None:
    """(extension, MIME type) of a JPG or PNG by its first bytes; None for anything else."""
    for magic, kind in MAGIC.items():
        if data.startswith(magic):
            return kind
    return None


def check_image(data: bytes) -> tuple[str, str]:
    """(extension, MIME type) of an image WeChat takes; 413 over 1 MB, 422 empty, 415 not a JPG
    or PNG."""
    if len(data) > MAX_IMAGE_BYTES:
        raise PayloadTooLarge(f"the image is over {MAX_IMAGE_BYTES // 1024} KB (WeChat's limit "
                              "for card images is 1 MB)")
    if not data:
        raise Unprocessable("the file is empty", errors={"file": ["empty"]})
    kind = image_kind(data)
    if kind is None:
        raise UnsupportedMediaType("the file is not a JPG or PNG image (judged by its bytes)")
    return kind


def upload_card_image(wechat: WeChatApi, data: bytes) -> str:
    """The URL WeChat answers for a JPG/PNG of at most 1 MB (checked first: no call
    otherwise)."""
    ext, mimetype = check_image(data)
    with refusals(IMAGE_REFUSALS):
        answer = wechat.media_uploadimg(f"image.{ext}", data, mimetype)
    return str(answer.get("url") or "")


# The one rule for a card picture's URL, as patterns so the spec states it exactly: http(s) on
# WeChat's image host, or (sandbox mode) an upload the sandbox serves under its own base.
CARD_IMAGE_URL_PATTERN = r"^https?://(?:mmbiz\.qpic\.cn|mmbiz\.qlogo\.cn)(?::\d{1,5})?(?:[/?#]\S*)?$"
SANDBOX_IMAGE_URL_PATTERN = (r"^https?://[^/\s?#]+(?:/\S*)?/mmbiz\.qpic\.cn/mmbiz_(?:png|jpg)/"
                             r"[0-9a-f]{32}/0$")
# The spec's patterns are ECMAScript's, whose \s is not Python's (Python's also matches \x85
# and \x1c-\x1f, not \ufeff) and whose \d is [0-9]: checked here as the spec reads them, so a
# value the spec allows is never refused, nor one it refuses taken (found by the fuzzer).
_ECMA_SPACE = "\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"


def _as_ecmascript(pattern: str) -> re.Pattern[str]:
    """``pattern`` with ``\\s`` (used only inside a class here), ``\\S`` and ``\\d`` as
    ECMAScript reads them."""
    return re.compile(pattern.replace(r"\S", f"[^{_ECMA_SPACE}]").replace(r"\s", _ECMA_SPACE)
                      .replace(r"\d", "[0-9]"))


_CARD_IMAGE_URL = _as_ecmascript(CARD_IMAGE_URL_PATTERN)
_SANDBOX_IMAGE_URL = _as_ecmascript(SANDBOX_IMAGE_URL_PATTERN)


def is_card_image_url(url: str, *, sandbox: bool) -> bool:
    """A URL a card's picture may have: http(s) on WeChat's image host, or in sandbox mode one
    the sandbox serves (its uploads)."""
    return bool(_CARD_IMAGE_URL.fullmatch(url)
                or (sandbox and _SANDBOX_IMAGE_URL.fullmatch(url)))
