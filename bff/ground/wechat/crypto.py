"""Message-push signatures and safe-mode AES (the Official Account's message encryption), and
Mini Program encryptedData (AES-128-CBC with the session_key)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import struct

from Crypto.Cipher import AES

_PUSH_BLOCK = 32  # WeChat pads push messages to 32 bytes, not AES's 16


def _same_ascii(expected: str, given: str | None) -> bool:
    """Constant-time equality; a non-ASCII value is simply unequal (``hmac.compare_digest``
    raises TypeError on non-ASCII str, which would be a 500 for anyone with a query string)."""
    given = given or ""
    if not given.isascii():
        return False
    return hmac.compare_digest(expected.encode("ascii"), given.encode("ascii"))


class PushCryptoError(Exception):
    """A push message could not be verified or decrypted; the message never says why in detail."""


def _sha1_sorted(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def _aes_key(encoding_aes_key: str) -> bytes:
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except binascii.Error:
        raise ValueError("EncodingAESKey is not valid base64") from None
    if len(key) != 32:
        raise ValueError("EncodingAESKey must decode to 32 bytes")
    return key


class _BlockDecryptor:
    """AES-CBC decryption with WeChat's IV (the key's first 16 bytes), from one AES-ECB object
    made once per key: CBC decryption is each block ECB-decrypted, then XORed with the block
    before it (the IV before the first). An ECB object keeps no state between calls, so one
    serves every request, where a CBC object, which chains, is made for each message (a
    third of a push's decryption, issue 18). tests/wechat/test_crypto.py holds it equal to
    pycryptodome's CBC."""

    def __init__(self, key: bytes) -> None:
        self._ecb = AES.new(key, AES.MODE_ECB)
        self._iv = key[:16]

    def cbc(self, data: bytes) -> bytes:
        """``AES.new(key, AES.MODE_CBC, key[:16]).decrypt(data)``; ``data``: whole blocks."""
        chained = int.from_bytes(self._iv + data[:-16], "big")
        return (int.from_bytes(self._ecb.decrypt(data), "big") ^ chained).to_bytes(len(data),
                                                                                 "big")


class PushCrypto:
    """Verifies and (de)crypts the Official Account's message push, in plain and safe mode."""

    def __init__(
        self, token: str, encoding_aes_key: str, appid: str, previous_key: str | None = None
    ) -> None:
        self._token = token
        self.appid = appid
        # Current key first: during rotation WeChat may still send with the previous one.
        self._keys = [_aes_key(encoding_aes_key)]
        if previous_key:
            self._keys.append(_aes_key(previous_key))
        self._blocks = [_BlockDecryptor(key) for key in self._keys]

    def check_signature(self, signature: str, timestamp: str, nonce: str) -> bool:
        expected = _sha1_sorted(self._token, timestamp, nonce)
        return _same_ascii(expected, signature)

    def check_msg_signature(
        self, msg_signature: str, timestamp: str, nonce: str, encrypt: str
    ) -> bool:
        expected = _sha1_sorted(self._token, timestamp, nonce, encrypt)
        return _same_ascii(expected, msg_signature)

    def msg_signature(self, timestamp: str, nonce: str, encrypt: str) -> str:
        """For replies and tests: the msg_signature of an Encrypt value."""
        return _sha1_sorted(self._token, timestamp, nonce, encrypt)

    def decrypt(self, encrypt_b64: str) -> str:
        try:
            data = base64.b64decode(encrypt_b64, validate=True)
        except (binascii.Error, ValueError):
            raise PushCryptoError("Encrypt is not base64") from None
        if not data or len(data) % 16:
            raise PushCryptoError("Encrypt has a bad length")
        for blocks in self._blocks:
            message = self._decrypt_with(blocks, data)
            if message is not None:
                return message
        raise PushCryptoError("message could not be decrypted")

    def _decrypt_with(self, blocks: _BlockDecryptor, data: bytes) -> str | None:
        plain = blocks.cbc(data)
        pad = plain[-1]
        if not 1 <= pad <= _PUSH_BLOCK or plain[-pad:] != bytes([pad]) * pad:
            return None
        plain = plain[16:-pad]  # drop the 16 random bytes and the padding
        if len(plain) < 4:
            return None
        (length,) = struct.unpack(">I", plain[:4])
        message, appid = plain[4 : 4 + length], plain[4 + length :]
        if len(message) != length or appid.decode("utf-8", "replace") != self.appid:
            return None
        try:
            return message.decode("utf-8")
        except UnicodeDecodeError:
            return None

    def encrypt(self, msg: str, random16: bytes | None = None) -> str:
        """Encrypt a reply (or a test push) with the current key."""
        random16 = os.urandom(16) if random16 is None else random16
        if len(random16) != 16:
            raise ValueError("random16 must be 16 bytes")
        body = msg.encode("utf-8")
        plain = random16 + struct.pack(">I", len(body)) + body + self.appid.encode("utf-8")
        pad = _PUSH_BLOCK - len(plain) % _PUSH_BLOCK
        plain += bytes([pad]) * pad
        key = self._keys[0]
        return base64.b64encode(AES.new(key, AES.MODE_CBC, key[:16]).encrypt(plain)).decode()


def _b64_tolerant(value: str) -> bytes:
    # Query strings and form posts can turn "+" into " "; base64 has no spaces.
    return base64.b64decode(value.replace(" ", "+"), validate=True)


def decrypt_miniprogram_data(
    session_key_b64: str, iv_b64: str, encrypted_b64: str, appid: str
) -> dict:
    """Decrypt wx.getUserInfo-style encryptedData and check its watermark.appid.

    Raises ``PushCryptoError`` without any of the inputs in the message: the session_key is secret.
    """
    try:
        key, iv = _b64_tolerant(session_key_b64), _b64_tolerant(iv_b64)
        data = _b64_tolerant(encrypted_b64)
    except (binascii.Error, ValueError):
        raise PushCryptoError("encryptedData, iv or session_key is not base64") from None
    if len(key) != 16 or len(iv) != 16 or not data or len(data) % 16:
        raise PushCryptoError("encryptedData, iv or session_key has a bad length")
    plain = AES.new(key, AES.MODE_CBC, iv).decrypt(data)
    pad = plain[-1]
    if not 1 <= pad <= 16 or plain[-pad:] != bytes([pad]) * pad:
        raise PushCryptoError("encryptedData could not be decrypted")
    try:
        doc = json.loads(plain[:-pad].decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise PushCryptoError("encryptedData could not be decrypted") from None
    if not isinstance(doc, dict) or (doc.get("watermark") or {}).get("appid") != appid:
        raise PushCryptoError("encryptedData belongs to another appid")
    return doc
