"""Signatures (cardExt, cardSign, wx.config) checked against wechatpy's published vectors."""

from __future__ import annotations

import hashlib
import json

import pytest

from bff.ground.wechat.signing import (
    card_ext,
    card_sign,
    jsapi_signature,
    nonce_str,
    sha1_sorted_values,
)

TICKET = "sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg"
NONCE = "Wm3WZYTPz0wzccnW"
TS = 1414587457


@pytest.mark.parametrize(
    ("code", "openid", "signature"),
    [
        ("", "", "22dce6bad4db532d4a2ef82ca2ca7bbe1e10ef28"),
        ("random_code", "", "2e9c6d12952246e071717d7baeab20c30420b5cd"),
        ("", "random_openid", "ded860a5dd4467312764bd86e544ad0579cbfad0"),
        ("random_code", "random_openid", "950dc1842852457ea573d4d6af34879c1ec093c8"),
    ],
)
def test_card_ext_matches_wechatpy_vectors(code: str, openid: str, signature: str) -> None:
    ext = json.loads(card_ext(api_ticket=TICKET, card_id="random_card_id", timestamp=TS,
                              nonce_str=NONCE, code=code, openid=openid))
    assert ext["signature"] == signature
    assert ext["timestamp"] == str(TS) and ext["nonce_str"] == NONCE
    assert ("code" in ext) == bool(code) and ("openid" in ext) == bool(openid)
    assert "card_id" not in ext


def test_card_ext_outer_str_and_begin_time_travel_unsigned() -> None:
    plain = json.loads(card_ext(api_ticket=TICKET, card_id="random_card_id", timestamp=str(TS),
                                nonce_str=NONCE))
    extra = json.loads(card_ext(api_ticket=TICKET, card_id="random_card_id", timestamp=TS,
                                nonce_str=NONCE, outer_str="渠道A",
                                fixed_begintimestamp=1500000000))
    assert extra["signature"] == plain["signature"]
    assert extra["outer_str"] == "渠道A" and extra["fixed_begintimestamp"] == 1500000000
    assert "outer_str" not in plain and "fixed_begintimestamp" not in plain


def test_sorting_is_by_value() -> None:
    assert sha1_sorted_values("b", "a", 1) == hashlib.sha1(b"1ab").hexdigest()


def test_card_sign_signs_every_value() -> None:
    # Spelled out, not through sha1_sorted_values, so it checks card_sign's use of the helper.
    values = sorted([TICKET, "wxappid", "", str(TS), NONCE, "card1", "GROUPON"])
    expected = hashlib.sha1("".join(values).encode()).hexdigest()
    assert card_sign(api_ticket=TICKET, appid="wxappid", timestamp=TS, nonce_str=NONCE,
                     card_id="card1", card_type="GROUPON") == expected
    assert card_sign(api_ticket=TICKET, appid="wxappid", timestamp=TS, nonce_str=NONCE) != expected


def test_jsapi_signature_known_answer_and_fragment_stripped() -> None:
    # The example of WeChat's JS-SDK documentation (appendix 1).
    args = dict(jsapi_ticket="sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-"
                "Sl-HhTdfl2fzFy1AOcHKP7qg", nonce_str="Wm3WZYTPz0wzccnW", timestamp=1414587457)
    url = "http://mp.weixin.qq.com?params=value"
    expected = "0f9de62fce790f9a083d5c99e95740ceb90c27ed"
    assert jsapi_signature(url=url, **args) == expected
    assert jsapi_signature(url=url + "#wechat_redirect", **args) == expected


def test_nonce_str_is_random_and_short() -> None:
    values = {nonce_str() for _ in range(50)}
    assert len(values) == 50 and all(1 <= len(v) <= 32 and v.isalnum() for v in values)
    assert len(nonce_str(32)) == 32
    with pytest.raises(ValueError):
        nonce_str(33)
