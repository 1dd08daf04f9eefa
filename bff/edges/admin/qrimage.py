"""QR images of a card QR code's ``url``, rendered here (segno) instead of fetched from WeChat.

Which URLs: any absolute http(s) URL of at most 1024 characters with a host and no whitespace
or control characters. Nothing is fetched, so there is no SSRF surface, and the endpoint sits
behind the operator token, so it cannot become a public QR generator. WeChat's own QR URLs
(``http://weixin.qq.com/q/...``) vary in host and scheme, so restricting to them would only make
the endpoint fragile.
"""

from __future__ import annotations

import io
from urllib.parse import urlsplit

import segno

from bff.edges.admin.schemas import MAX_IMAGE_URL
from bff.ground.errors import Unprocessable

MIMETYPES = {"png": "image/png", "svg": "image/svg+xml"}


def check_url(url: str) -> str:
    """The URL to encode, or ``Unprocessable`` saying why it is refused."""
    url = url.strip()
    if len(url) > MAX_IMAGE_URL:
        raise Unprocessable(f"url is longer than {MAX_IMAGE_URL} characters")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise Unprocessable("url must not contain whitespace or control characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises ValueError for a port that is not 0-65535
    except ValueError:  # e.g. "http://[::1" (unbalanced IPv6 brackets)
        raise Unprocessable("url is not a valid URL") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise Unprocessable("url must be an absolute http(s) URL")
    return url


def render(url: str, fmt: str = "png", *, scale: int = 8, border: int = 4) -> tuple[bytes, str]:
    """``(image bytes, mimetype)``; error correction M, as WeChat's own QR images use."""
    qr = segno.make_qr(check_url(url), error="m")
    out = io.BytesIO()
    if fmt == "svg":
        qr.save(out, kind="svg", scale=scale, border=border, xmldecl=True)
    else:
        qr.save(out, kind="png", scale=scale, border=border)
    return out.getvalue(), MIMETYPES[fmt]
