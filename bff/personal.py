"""Personal data at rest: AES-256-GCM sealing of small JSON records (activation form fields).

A sealed value is ``"v1:" + base64url(nonce | tag | ciphertext)`` with a random 12-byte nonce and
the key ``settings.data_key_bytes``. ``context`` is authenticated but not stored: it binds a
blob to its record (e.g. ``member:<card_id>:<code>``), so a blob copied onto another record fails
to open instead of lending that record someone else's data.
"""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any

from Crypto.Cipher import AES
from Crypto.Random import get_random_bytes

if TYPE_CHECKING:
    from bff.config import Settings

VERSION = "v1"
NONCE_BYTES = 12
TAG_BYTES = 16


class PersonalDataError(ValueError):
    """A sealed value is malformed, tampered with, bound to another record, or from another key."""


def _key(settings: Settings) -> bytes:
    key = settings.data_key_bytes
    if len(key) != 32:
        raise PersonalDataError("the data key must be 32 bytes")
    return key


def seal(settings: Settings, data: dict[str, Any], context: str = "") -> str:
    """Encrypt ``data`` (JSON-serialisable) for storage; ``context`` names the record."""
    plaintext = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    nonce = get_random_bytes(NONCE_BYTES)
    cipher = AES.new(_key(settings), AES.MODE_GCM, nonce=nonce, mac_len=TAG_BYTES)
    cipher.update(f"{VERSION}|{context}".encode())
    ciphertext, tag = cipher.encrypt_and_digest(plaintext)
    blob = base64.urlsafe_b64encode(nonce + tag + ciphertext).decode().rstrip("=")
    return f"{VERSION}:{blob}"


def unseal(settings: Settings, blob: str, context: str = "") -> dict[str, Any]:
    """Decrypt a value made by ``seal`` with the same ``context``; PersonalDataError otherwise."""
    version, sep, body = (blob or "").partition(":")
    if not sep or version != VERSION:
        raise PersonalDataError("unknown sealed-data format")
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except ValueError:
        raise PersonalDataError("sealed data is not valid base64") from None
    if len(raw) < NONCE_BYTES + TAG_BYTES:
        raise PersonalDataError("sealed data is too short")
    nonce, tag = raw[:NONCE_BYTES], raw[NONCE_BYTES:NONCE_BYTES + TAG_BYTES]
    cipher = AES.new(_key(settings), AES.MODE_GCM, nonce=nonce, mac_len=TAG_BYTES)
    cipher.update(f"{VERSION}|{context}".encode())
    try:
        plaintext = cipher.decrypt_and_verify(raw[NONCE_BYTES + TAG_BYTES:], tag)
    except ValueError:
        raise PersonalDataError("sealed data failed authentication") from None
    data = json.loads(plaintext)
    if not isinstance(data, dict):
        raise PersonalDataError("sealed data is not an object")
    return data
