"""Push-message crypto against WeChat's published vector, and Mini Program encryptedData."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from Crypto.Cipher import AES
from hypothesis import given, settings
from hypothesis import strategies as st

from bff.ground.wechat.crypto import (
    PushCrypto,
    PushCryptoError,
    _BlockDecryptor,
    decrypt_miniprogram_data,
)

TOKEN = "pamtest"
KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APPID = "wxb11529c136998cb6"
VECTOR = "jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg=="
OTHER_KEY = "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut"


def test_encrypt_and_decrypt_match_wechat_vector() -> None:
    crypto = PushCrypto(TOKEN, KEY, APPID)
    assert crypto.encrypt("我是中文abcd123", random16=b"aaaabbbbccccdddd") == VECTOR
    assert crypto.decrypt(VECTOR) == "我是中文abcd123"


def test_signatures() -> None:
    crypto = PushCrypto(TOKEN, KEY, APPID)
    sig = hashlib.sha1("".join(sorted([TOKEN, "1409304348", "xxxxxx"])).encode()).hexdigest()
    assert crypto.check_signature(sig, "1409304348", "xxxxxx")
    assert not crypto.check_signature(sig, "1409304349", "xxxxxx")
    msg_sig = crypto.msg_signature("1409304348", "xxxxxx", VECTOR)
    assert crypto.check_msg_signature(msg_sig, "1409304348", "xxxxxx", VECTOR)
    assert not crypto.check_msg_signature(msg_sig, "1409304348", "xxxxxx", VECTOR[:-4] + "AAA=")


def test_previous_key_accepted_during_rotation() -> None:
    old = PushCrypto(TOKEN, KEY, APPID).encrypt("<xml>old</xml>")
    rotated = PushCrypto(TOKEN, OTHER_KEY, APPID, previous_key=KEY)
    assert rotated.decrypt(old) == "<xml>old</xml>"
    with pytest.raises(PushCryptoError):
        PushCrypto(TOKEN, OTHER_KEY, APPID).decrypt(old)


@pytest.mark.parametrize("bad", ["not base64!!", "", base64.b64encode(b"x" * 15).decode()])
def test_garbage_is_rejected(bad: str) -> None:
    with pytest.raises(PushCryptoError):
        PushCrypto(TOKEN, KEY, APPID).decrypt(bad)


def test_wrong_appid_is_rejected() -> None:
    with pytest.raises(PushCryptoError):
        PushCrypto(TOKEN, KEY, "wxsomeoneelse00000").decrypt(VECTOR)


def _seal(key: bytes, iv: bytes, doc: dict) -> str:
    raw = json.dumps(doc).encode()
    pad = 16 - len(raw) % 16
    sealed = AES.new(key, AES.MODE_CBC, iv).encrypt(raw + bytes([pad]) * pad)
    return base64.b64encode(sealed).decode()


def test_miniprogram_data_decrypts_and_checks_watermark() -> None:
    key, iv = b"k" * 16, b"i" * 16
    doc = {"openId": "o1", "watermark": {"appid": "wxmp", "timestamp": 1}}
    sealed = _seal(key, iv, doc)
    session_key, iv_b64 = base64.b64encode(key).decode(), base64.b64encode(iv).decode()
    # "+" turned into spaces on the way in is tolerated.
    assert decrypt_miniprogram_data(session_key, iv_b64, sealed.replace("+", " "), "wxmp") == doc
    with pytest.raises(PushCryptoError) as e:
        decrypt_miniprogram_data(session_key, iv_b64, sealed, "wxother")
    assert session_key not in str(e.value)
    with pytest.raises(PushCryptoError):
        decrypt_miniprogram_data(base64.b64encode(b"z" * 16).decode(), iv_b64, sealed, "wxmp")


@settings(max_examples=200, deadline=None)
@given(key=st.binary(min_size=32, max_size=32),
       blocks=st.lists(st.binary(min_size=16, max_size=16), min_size=1, max_size=40))
def test_the_shared_block_decryptor_is_aes_cbc_with_the_keys_iv(key, blocks) -> None:
    data = b"".join(blocks)  # any ciphertext of whole blocks
    assert _BlockDecryptor(key).cbc(data) == AES.new(key, AES.MODE_CBC, key[:16]).decrypt(data)
