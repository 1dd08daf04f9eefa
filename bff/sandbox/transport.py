"""A requests adapter that hands each request to a WSGI app in-process, with HTTP semantics."""

from __future__ import annotations

import io
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import unquote_to_bytes, urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class WSGIAdapter(BaseAdapter):
    """Mount on a Session (``session.mount("http://sandbox.internal", WSGIAdapter(app))``).

    The whole URL path becomes ``PATH_INFO`` (``SCRIPT_NAME`` is empty), so a dispatcher inside
    ``app`` sees the same paths a real server would give it. ``latency`` (seconds) is slept
    before every request; ``timeout`` is accepted and ignored.
    """

    def __init__(self, app: WSGIApp, latency: float = 0.0) -> None:
        super().__init__()
        self.app = app
        self.latency = latency

    def send(self, request: requests.PreparedRequest, stream: bool = False,
             timeout: Any = None, verify: Any = True, cert: Any = None,
             proxies: Mapping[str, str] | None = None) -> requests.Response:
        if self.latency:
            time.sleep(self.latency)
        environ = build_environ(request)
        captured: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]],
                           exc_info: Any = None) -> Callable[[bytes], None]:
            captured["status"], captured["headers"] = status, headers
            return lambda chunk: None

        result = self.app(environ, start_response)
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        return build_response(request, captured["status"], captured["headers"], body)

    def close(self) -> None:
        pass


def build_environ(request: requests.PreparedRequest) -> dict[str, Any]:
    url = urlsplit(request.url or "")
    body = request.body or b""
    if isinstance(body, str):
        body = body.encode("utf-8")
    elif not isinstance(body, bytes):  # a file-like or generator body
        body = body.read() if hasattr(body, "read") else b"".join(body)
    scheme = url.scheme or "http"
    port = url.port or (443 if scheme == "https" else 80)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": (request.method or "GET").upper(),
        "SCRIPT_NAME": "",
        "PATH_INFO": unquote_to_bytes(url.path or "/").decode("latin-1"),
        "QUERY_STRING": url.query,
        "RAW_URI": (url.path or "/") + (f"?{url.query}" if url.query else ""),
        "SERVER_NAME": url.hostname or "localhost",
        "SERVER_PORT": str(port),
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scheme,
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    environ["REQUEST_URI"] = environ["RAW_URI"]
    for name, value in request.headers.items():
        key = name.upper().replace("-", "_")
        if key == "CONTENT_TYPE":
            environ["CONTENT_TYPE"] = value
        elif key != "CONTENT_LENGTH":
            environ[f"HTTP_{key}"] = value
    environ.setdefault("HTTP_HOST", url.netloc)
    return environ


def build_response(request: requests.PreparedRequest, status: str,
                   headers: list[tuple[str, str]], body: bytes) -> requests.Response:
    response = requests.Response()
    code, _, reason = status.partition(" ")
    response.status_code = int(code)
    response.reason = reason
    response.headers = CaseInsensitiveDict(headers)
    response.encoding = get_encoding_from_headers(response.headers)
    response._content = body
    response._content_consumed = True
    response.raw = io.BytesIO(body)
    response.url = request.url or ""
    response.request = request
    return response
