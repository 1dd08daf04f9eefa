"""The sandbox's own signatures and ciphers, written independently of the BFF's.

- ``sorted_sha1``: WeChat's card_ext / cardSign / push signature (sorted values, joined, SHA-1).
- ``encrypt_push``: safe-mode message encryption (AES-256-CBC, IV = key[:16], 32-byte PKCS#7).
- ``seal`` / ``unseal``: encrypt_code and encrypt_card_id (AES-256-CBC with a per-appid key,
  authenticated by an HMAC tag: a value cannot be forged or altered without the key).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
import string
import struct
from functools import lru_cache
from typing import Any
from urllib.parse import unquote

from Crypto.Cipher import AES

_URLSAFE = string.ascii_letters + string.digits + "-_"


def sorted_sha1(*values: str) -> str:
    """SHA-1 hex of the values sorted lexicographically and joined with no separator."""
    return hashlib.sha1("".join(sorted(values)).encode("utf-8")).hexdigest()


# ---- push messages (safe mode) -------------------------------------------------------------

def push_aes_key(encoding_aes_key: str) -> bytes:
    key = base64.b64decode(encoding_aes_key + "=")
    if len(key) != 32:
        raise ValueError("EncodingAESKey must decode to 32 bytes")
    return key


def encrypt_push(encoding_aes_key: str, appid: str, message: str,
                 random16: bytes | None = None) -> str:
    """Encrypt a push message as WeChat does; returns the base64 ``Encrypt`` value."""
    key = push_aes_key(encoding_aes_key)
    body = message.encode("utf-8")
    plain = (random16 or os.urandom(16)) + struct.pack(">I", len(body)) + body
    plain += appid.encode("utf-8")
    pad = 32 - len(plain) % 32
    plain += bytes([pad]) * pad
    cipher = AES.new(key, AES.MODE_CBC, key[:16])
    return base64.b64encode(cipher.encrypt(plain)).decode("ascii")


# ---- encrypt_code / encrypt_card_id --------------------------------------------------------

def new_code_key() -> str:
    return base64.b64encode(os.urandom(32)).decode("ascii")


TAG_BYTES = 17  # 17, not 16: the base64 keeps its "=" padding, as WeChat's encrypt_codes do


def _tag(key: bytes, sealed: bytes) -> bytes:
    return hmac.digest(key, b"encrypt_code\n" + sealed, "sha256")[:TAG_BYTES]


@lru_cache(maxsize=64)
def _code_cipher(key_b64: str) -> tuple[bytes, Any]:
    """An appid's key and an AES-ECB object of it, made once: an ECB object keeps no state
    between calls, and making a cipher was a third of an encrypt_code's unsealing."""
    key = base64.b64decode(key_b64)
    return key, AES.new(key, AES.MODE_ECB)


def _cbc_decrypt(ecb: Any, iv: bytes, data: bytes) -> bytes:
    """``AES.new(key, AES.MODE_CBC, iv).decrypt(data)``, from the key's ECB object: each block
    ECB-decrypted, then XORed with the block before it (the IV before the first)."""
    chained = int.from_bytes(iv + data[:-16], "big")
    return (int.from_bytes(ecb.decrypt(data), "big") ^ chained).to_bytes(len(data), "big")


def seal(key_b64: str, text: str, *, lead: bytes = b"") -> str:
    """AES-CBC ciphertext (random IV) of ``text`` and an HMAC tag over it, base64 with the
    standard alphabet.

    The tag makes a value unforgeable without the account's key: CBC alone is malleable (a
    holder of one encrypt_code and its code could turn the IV into another code's), and the
    service treats an encrypt_code as something only WeChat can make (README: Security). The
    IV is drawn again until the base64 contains ``+``, so that callers which decode it zero or
    two times (``+`` -> space) get caught. ``lead`` bytes shift the padding so that the base64
    ends with ``=`` or ``==``.
    """
    key = base64.b64decode(key_b64)
    data = text.encode("utf-8")
    pad = 16 - len(data) % 16
    data += bytes([pad]) * pad
    while True:
        iv = os.urandom(16)
        body = iv + AES.new(key, AES.MODE_CBC, iv).encrypt(data)
        out = base64.b64encode(lead + body + _tag(key, body))
        sealed = out.decode("ascii")
        if "+" in sealed:
            return sealed


def unseal(key_b64: str, sealed: str, *, lead: int = 0) -> str | None:
    """Decrypt a ``seal`` value; ``None`` when it is not ours (its tag does not match: forged
    or altered) or not base64 at all."""
    try:
        raw = base64.b64decode(sealed, validate=True)
    except (binascii.Error, ValueError):
        return None
    raw = raw[lead:]
    if len(raw) < 32 + TAG_BYTES or (len(raw) - TAG_BYTES) % 16:
        return None
    key, ecb = _code_cipher(key_b64)
    body, tag = raw[:-TAG_BYTES], raw[-TAG_BYTES:]
    if not hmac.compare_digest(_tag(key, body), tag):
        return None
    plain = _cbc_decrypt(ecb, body[:16], body[16:])
    pad = plain[-1]
    if not 1 <= pad <= 16 or plain[-pad:] != bytes([pad]) * pad:
        return None
    try:
        text = plain[:-pad].decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if text.isprintable() else None


def garbled(key_b64: str, sealed: str) -> str | None:
    """What WeChat answers for a still percent-encoded value: a deterministic wrong code.

    ``None`` when the value is not base64 even after one percent-decoding.
    """
    if "%" not in sealed and " " not in sealed:
        return None
    candidate = unquote(sealed).replace(" ", "+")
    try:
        base64.b64decode(candidate, validate=True)
    except (binascii.Error, ValueError):
        return None
    digest = hashlib.sha256((key_b64 + sealed).encode()).digest()
    return str(int.from_bytes(digest[:8], "big") % 10**12).zfill(12)


# ---- identifiers ---------------------------------------------------------------------------

def urlsafe_id(first: str, length: int = 28) -> str:
    return first + "".join(secrets.choice(_URLSAFE) for _ in range(length - 1))


def numeric(digits: int = 12) -> str:
    return str(secrets.randbelow(9 * 10 ** (digits - 1)) + 10 ** (digits - 1))


def token_string(length: int = 136) -> str:
    """An access_token / ticket looking string (WeChat's are ~136 url-safe chars)."""
    return "".join(secrets.choice(_URLSAFE) for _ in range(length))


def biz_for(appid: str) -> str:
    """The Official Account's ``biz``: base64 of a 10-digit number, like ``MzU2ODQzMDM1MQ==``."""
    n = int(hashlib.sha1(appid.encode()).hexdigest(), 16) % (9 * 10**9) + 10**9
    return base64.b64encode(str(n).encode()).decode("ascii")


def gh_id(appid: str) -> str:
    """The Official Account's original id (``ToUserName`` of pushes)."""
    return "gh_" + hashlib.sha1(appid.encode()).hexdigest()[:12]
