"""Data at rest: AES-256-GCM sealing of small records (member form fields, session_keys, answers).

The one home of the service's at-rest encryption: every sealed value in Redis is made and opened
here. A sealed value is ``"v1:" + base64url(nonce | tag | ciphertext)`` with a random 12-byte
nonce and the key ``settings.data_key_bytes``. ``context`` is authenticated but not stored: it
binds a blob to its record (e.g. ``member:<card_id>:<code>``), so a blob copied onto another
record fails to open instead of lending that record someone else's data.

Key rotation: values are sealed with ``BFF_DATA_KEY``; they open with it or with
``BFF_DATA_KEY_PREVIOUS``. ``reseal`` (used by ``bff data rekey``) turns a blob of the previous
key into one of the current key without the plain text leaving this module.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import TYPE_CHECKING, Any

from Crypto.Cipher import AES
from Crypto.Random import get_random_bytes

if TYPE_CHECKING:
    from bff.ground.config import Settings

VERSION = "v1"
NONCE_BYTES = 12
TAG_BYTES = 16


class PersonalDataError(ValueError):
    """A sealed value is malformed, tampered with, bound to another record, or from another key."""


def _keys(settings: Settings) -> tuple[bytes, ...]:
    keys = settings.data_keys
    if any(len(k) != 32 for k in keys):
        raise PersonalDataError("the data key must be 32 bytes")
    return keys


def seal_text(settings: Settings, text: str, context: str = "") -> str:
    """Encrypt ``text`` under the current data key; ``context`` names the record."""
    return _seal_bytes(_keys(settings)[0], text.encode("utf-8"), context)


def unseal_text(settings: Settings, blob: str, context: str = "", *,
                legacy: bool = False) -> str:
    """Decrypt a value made by ``seal_text`` with the same ``context``, under either key.

    ``legacy`` also accepts the first session_key format (``base64(nonce|tag|ct)``, no version,
    no context) that sessions stored before the v1 format.
    """
    return _open(settings, blob, context, legacy=legacy)[0].decode("utf-8")


def seal(settings: Settings, data: dict[str, Any], context: str = "") -> str:
    """Encrypt ``data`` (JSON-serialisable) for storage; ``context`` names the record."""
    plaintext = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    return _seal_bytes(_keys(settings)[0], plaintext, context)


def unseal(settings: Settings, blob: str, context: str = "") -> dict[str, Any]:
    """Decrypt a value made by ``seal`` with the same ``context``; PersonalDataError otherwise."""
    data = json.loads(_open(settings, blob, context)[0])
    if not isinstance(data, dict):
        raise PersonalDataError("sealed data is not an object")
    return data


def reseal(settings: Settings, blob: str, context: str = "", *,
           legacy: bool = False) -> str | None:
    """The same plain text sealed under the current key, or None when ``blob`` already is one.

    PersonalDataError when no configured key opens it (then it is left as it is).
    """
    plaintext, key_index = _open(settings, blob, context, legacy=legacy)
    if key_index == 0 and blob.startswith(f"{VERSION}:"):
        return None
    return _seal_bytes(_keys(settings)[0], plaintext, context)


def _seal_bytes(key: bytes, plaintext: bytes, context: str) -> str:
    nonce = get_random_bytes(NONCE_BYTES)
    cipher = AES.new(key, AES.MODE_GCM, nonce=nonce, mac_len=TAG_BYTES)
    cipher.update(f"{VERSION}|{context}".encode())
    ciphertext, tag = cipher.encrypt_and_digest(plaintext)
    body = base64.urlsafe_b64encode(nonce + tag + ciphertext).decode().rstrip("=")
    return f"{VERSION}:{body}"


def _open(settings: Settings, blob: str, context: str, *,
          legacy: bool = False) -> tuple[bytes, int]:
    """(plain text, index of the key that opened it: 0 current, 1 previous)."""
    version, sep, body = (blob or "").partition(":")
    if sep and version == VERSION:
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        except (ValueError, binascii.Error):
            raise PersonalDataError("sealed data is not valid base64") from None
        aad: bytes | None = f"{VERSION}|{context}".encode()
    elif legacy and not sep:
        try:
            raw = base64.b64decode(blob, validate=True)
        except (ValueError, binascii.Error):
            raise PersonalDataError("sealed data is not valid base64") from None
        aad = None
    else:
        raise PersonalDataError("unknown sealed-data format")
    if len(raw) < NONCE_BYTES + TAG_BYTES:
        raise PersonalDataError("sealed data is too short")
    nonce, tag = raw[:NONCE_BYTES], raw[NONCE_BYTES:NONCE_BYTES + TAG_BYTES]
    for index, key in enumerate(_keys(settings)):
        cipher = AES.new(key, AES.MODE_GCM, nonce=nonce, mac_len=TAG_BYTES)
        if aad is not None:
            cipher.update(aad)
        try:
            return cipher.decrypt_and_verify(raw[NONCE_BYTES + TAG_BYTES:], tag), index
        except ValueError:
            continue
    raise PersonalDataError("sealed data failed authentication")
