"""Personal data sealed at rest: AES-256-GCM, versioned, bound to its record."""

from __future__ import annotations

import base64

import pytest

from bff.domain.personal import PersonalDataError, seal, unseal
from bff.ground.config import load_settings

SETTINGS = load_settings(environ={}, overrides={"sandbox": True})
OTHER_KEY = load_settings(environ={}, overrides={
    "sandbox": True, "data_key": base64.b64encode(b"another-data-key-of-32-bytes!!!!").decode()})
DATA = {"mobile": "13912345678", "name": "李小龙"}


def test_round_trip_hides_the_plain_text() -> None:
    blob = seal(SETTINGS, DATA, "member:c:1")
    assert blob.startswith("v1:")
    assert "13912345678" not in blob and "李" not in blob
    assert unseal(SETTINGS, blob, "member:c:1") == DATA


def test_each_seal_uses_a_fresh_nonce() -> None:
    assert seal(SETTINGS, DATA) != seal(SETTINGS, DATA)


def test_a_blob_moved_to_another_record_does_not_open() -> None:
    blob = seal(SETTINGS, DATA, "member:c:1")
    with pytest.raises(PersonalDataError):
        unseal(SETTINGS, blob, "member:c:2")


def test_tampering_and_other_keys_are_refused() -> None:
    blob = seal(SETTINGS, DATA, "x")
    raw = bytearray(base64.urlsafe_b64decode(blob[3:] + "=" * (-len(blob[3:]) % 4)))
    raw[-1] ^= 1
    tampered = "v1:" + base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")
    for bad in (tampered, "v2:" + blob[3:], "v1:", "garbage", "v1:!!!"):
        with pytest.raises(PersonalDataError):
            unseal(SETTINGS, bad, "x")
    with pytest.raises(PersonalDataError):
        unseal(OTHER_KEY, blob, "x")
