"""gunicorn's access log, as the Procfile asks for it (``--logger-class``): the raw request path,
escaped, without its query string, and with no personal id in it.

gunicorn's ``%(U)s`` is the *decoded* path: ``GET /x%0aforged`` wrote a line break into the
log, so anyone could forge a log line. Here ``%(U)s`` (and ``%(r)s``, the request line) are the
path as it came on the wire (``RAW_URI``), cut at ``?``, with every byte outside visible ASCII,
``"`` and ``\\`` written as ``\\xNN``.

Path segments that are card codes or openids (``/v1/admin/members/{card_id}/{code}/...``,
``/v1/admin/users/{oa_openid}/cards``, the sandbox's ``/_sim/users/{id}/cards/{code}``,
``/_sim/login-codes/{code}``) are written as ``~`` and a short keyed hash (HMAC-SHA256 of the
decoded segment under a key derived from ``BFF_DATA_KEY``, 10 hex digits): the same id gives the
same hash, so one user's requests can still be followed, but the log holds no id, and without
the key a short code or a 12-digit one cannot be found again by trying every value.
Any other segment that looks like an id (6 or more of ``A-Za-z0-9_-`` with a digit or a
capital, but not a card_id) is hashed the same way, so an id in a route added later is not
written either; other segments (``v1``, ``admin``, ``x%0aforged``) are written as sent.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import logging
import os
import re
import traceback
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from gunicorn.glogging import Logger

_ID_LIKE = re.compile(r"(?=.*[0-9A-Z])[A-Za-z0-9_-]{6,}")  # a code, an openid, a token
_CARD_ID = re.compile(r"p[A-Za-z0-9_-]{27}")  # WeChat's card_id: not personal
_AFTER = ("users", "login-codes")  # the next segment is an openid or a login code


_UNSAFE = re.compile(r'[^!-~]|["\\]')  # what _escape rewrites


def _escape(text: str) -> str:
    if not _UNSAFE.search(text):  # the usual path: nothing to rewrite, no per-character work
        return text
    return "".join(c if "!" <= c <= "~" and c not in '"\\' else "".join(
        f"\\x{byte:02x}" for byte in c.encode("utf-8", "surrogateescape")) for c in text)


@functools.lru_cache(maxsize=1)
def _key() -> bytes:
    """The hashing key, from ``BFF_DATA_KEY`` (the service refuses to start without a valid
    one outside sandbox mode; in sandbox mode the sandbox's default key)."""
    from bff.ground.config import SANDBOX_DATA_KEY

    try:
        data_key = base64.b64decode(os.environ.get("BFF_DATA_KEY") or SANDBOX_DATA_KEY,
                                    validate=True)
    except (binascii.Error, ValueError):
        data_key = base64.b64decode(SANDBOX_DATA_KEY)
    return hmac.new(data_key, b"bff access log ids", hashlib.sha256).digest()


def _hashed(segment: str) -> str:
    decoded = unquote(segment, errors="surrogateescape")  # one id, one hash, however encoded
    mac = hmac.new(_key(), decoded.encode("utf-8", "surrogateescape"), hashlib.sha256)
    return "~" + mac.hexdigest()[:10]


def _personal(segments: list[str], i: int) -> bool:
    segment = unquote(segments[i], errors="surrogateescape")
    if _ID_LIKE.fullmatch(segment) and not _CARD_ID.fullmatch(segment):
        return True
    before = segments[:i]
    return bool(
        (before and before[-1] in _AFTER)
        or (len(before) >= 2 and before[-2] == "members")  # members/{card_id}/{code}
        or (before and before[-1] == "cards" and "users" in before)  # users/{id}/cards/{code}
    )


def safe_path(environ: dict[str, Any]) -> str:
    """The request's raw path, without its query string, escaped, ids hashed."""
    raw = environ.get("RAW_URI") or environ.get("PATH_INFO") or ""
    return _safe_path_of(raw.split("?", 1)[0].split("#", 1)[0])


@functools.lru_cache(maxsize=512)  # the same few paths, line after line (issue 18)
def _safe_path_of(path: str) -> str:
    if "://" in path:  # an absolute-form request target: keep the path only
        path = "/" + path.split("://", 1)[1].partition("/")[2]
    segments = path.split("/")
    return _escape("/".join(_hashed(s) if s and _personal(segments, i) else s
                            for i, s in enumerate(segments)))


_ATOM = re.compile(r"%\((.*?)\)")


@functools.lru_cache(maxsize=4)
def _names(log_format: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The atoms a format names: gunicorn's one-letter ones, and the ``{header}i``,
    ``{header}o`` and ``{VAR}e`` ones (lower-cased, as gunicorn looks them up)."""
    names = set(_ATOM.findall(log_format))
    return (tuple(n for n in names if not n.startswith("{")),
            tuple(n.lower() for n in names if n.startswith("{")))


class AccessLogger(Logger):
    """gunicorn's logger with a safe ``%(U)s`` and ``%(r)s``; everything else unchanged.

    ``access`` builds only the atoms the format names. gunicorn's builds them all, every
    request header, response header and environ variable included, then copies them to escape
    quotes: 3.6 % of a worker's CPU under load, more than the rest of the log line (issue 18).
    tests/test_access_log.py holds the lines equal to gunicorn's for every atom."""

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any],
              request_time: Any) -> dict[str, Any]:
        atoms = super().atoms(resp, req, environ, request_time)
        atoms.update(self._safe(environ))
        return atoms

    @staticmethod
    def _safe(environ: dict[str, Any]) -> dict[str, str]:
        path = safe_path(environ)
        return {"U": path, "q": "", "r": "{} {} {}".format(
            _escape(environ.get("REQUEST_METHOD", "-")), path,
            _escape(environ.get("SERVER_PROTOCOL", "-")))}

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        if not self.access_log_enabled:
            return
        log_format = self.cfg.access_log_format
        plain, braced = _names(log_format)
        atoms: dict[str, Any] = {}
        if plain:
            atoms.update((name, _PLAIN[name](self, resp, environ, request_time))
                         for name in plain if name in _PLAIN)
            if {"U", "q", "r"} & set(plain):
                atoms.update(self._safe(environ))
        for name in braced:
            kind, key = name[-1], name[1:-2]
            if kind == "e":
                items: Any = environ.items()
            elif kind in "io":
                headers = getattr(req, "headers", req) if kind == "i" else resp.headers
                items = headers.items() if hasattr(headers, "items") else headers
            else:
                continue
            for k, v in items:  # the last of a repeated header, as gunicorn's dict keeps it
                if k.lower() == key:
                    atoms[name] = v
        # what gunicorn's SafeAtoms does: quotes escaped, an atom it lacks written as "-"
        safe = {k: v.replace('"', '\\"') if isinstance(v, str) else v for k, v in atoms.items()}
        log = self.access_log
        try:
            # Logger.info's record without its search of the stack for the caller (findCaller):
            # a line's file and line number, which no access format shows.
            if log.isEnabledFor(logging.INFO):
                log.handle(log.makeRecord(log.name, logging.INFO, __file__, 0, log_format,
                                          (_Dashed(safe),), None, "access"))
        except Exception:
            self.error(traceback.format_exc())


def _status(resp: Any) -> Any:
    status = resp.status
    return status.split(None, 1)[0] if isinstance(status, str) else status


def _sent(resp: Any) -> str:
    sent = getattr(resp, "sent", None)
    return sent is not None and str(sent) or "-"


# gunicorn's one-letter atoms, each as its Logger.atoms makes it: made once, not per line
_PLAIN: dict[str, Callable[[AccessLogger, Any, dict[str, Any], Any], Any]] = {
    "h": lambda log, resp, environ, rt: environ.get("REMOTE_ADDR", "-"),
    "l": lambda log, resp, environ, rt: "-",
    "u": lambda log, resp, environ, rt: log._get_user(environ) or "-",
    "t": lambda log, resp, environ, rt: log.now(),
    "s": lambda log, resp, environ, rt: _status(resp),
    "m": lambda log, resp, environ, rt: environ.get("REQUEST_METHOD"),
    "H": lambda log, resp, environ, rt: environ.get("SERVER_PROTOCOL"),
    "b": lambda log, resp, environ, rt: _sent(resp),
    "B": lambda log, resp, environ, rt: getattr(resp, "sent", None),
    "f": lambda log, resp, environ, rt: environ.get("HTTP_REFERER", "-"),
    "a": lambda log, resp, environ, rt: environ.get("HTTP_USER_AGENT", "-"),
    "T": lambda log, resp, environ, rt: rt.seconds,
    "D": lambda log, resp, environ, rt: rt.seconds * 1000000 + rt.microseconds,
    "M": lambda log, resp, environ, rt: rt.seconds * 1000 + int(rt.microseconds / 1000),
    "L": lambda log, resp, environ, rt: f"{rt.seconds:d}.{rt.microseconds:06d}",
    "p": lambda log, resp, environ, rt: f"<{os.getpid()}>",
}


class _Dashed(dict):
    """gunicorn's SafeAtoms lookup: ``{...}`` atoms case-insensitively, "-" for a missing one."""

    def __missing__(self, key: str) -> str:
        if key.startswith("{") and key.lower() in self:
            return self[key.lower()]
        return "-"
