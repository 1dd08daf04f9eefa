"""What ``/docs`` says besides the operations: the overview at its top (the spec's
``info.description``, markdown) and the request body each operation shows.

``REQUEST_EXAMPLES``: the request body each operation's docs show (Swagger UI's "Example Value"
and "Try it out"), set as the request schema's ``example``: Swagger UI would otherwise build one
from the types ("string", 0), which the operation's own validation refuses. A test loads each
with the operation's marshmallow schema and validates it against the spec's JSON schema
(``tests/test_docs_examples.py``); every operation with a JSON body has one here."""

from __future__ import annotations

from typing import Any

OVERVIEW = """\
The backend of a WeChat Mini Program's (and H5 pages') **coupons and member cards**: it signs
`wx.addCard`, `wx.chooseCard` and `wx.config`, decrypts the `encrypt_code`s WeChat hands back
(only for their owner), runs the member-card activation plug-in flow, and gives operators QR
codes, landing pages, code import and counter redemption. Front-end pages use the JS client
(`clients/js`, its guide in `clients/js/README.md`).

**Errors** have one shape: `{code, status, message, errors?, errcode?, request_id}`. A 422's
`message` names the invalid fields (`cards[0].card_id: Not a valid string.`); `errors` has them
all. A 429 or 503 carries `Retry-After`.

### A session token in the sandbox

`bff dev` (sandbox mode) plays WeChat at `/sandbox`: its simulator makes users and hands out the
`wx.login` codes WeChat would. A user, a login code from `/sandbox/_sim/login-codes`, then
the session from `POST /v1/sessions/miniprogram` (`curl` and `jq`):

```sh
BASE=http://127.0.0.1:8000
MP_OPENID=$(curl -s -X POST $BASE/sandbox/_sim/users -H 'content-type: application/json' \\
  -d '{"unionid": true}' | jq -r .mp_openid)
CODE=$(curl -s -X POST $BASE/sandbox/_sim/login-codes -H 'content-type: application/json' \\
  -d "{\\"user\\": \\"$MP_OPENID\\", \\"app\\": \\"miniprogram\\"}" | jq -r .code)
TOKEN=$(curl -s -X POST $BASE/v1/sessions/miniprogram -H 'content-type: application/json' \\
  -d "{\\"code\\": \\"$CODE\\"}" | jq -r .token)
curl -s $BASE/v1/cards/mine -H "authorization: Bearer $TOKEN"
```

Then **Authorize** (top right) → `bearerAuth` → the token, and *Try it out* on any user
operation. An H5 session is the same with `"app": "h5"` and
`POST /v1/sessions/h5`. A session lives `BFF_SESSION_TTL` seconds (7 days).

### The operator token

The `/v1/admin/*` operations take `Authorization: Bearer <BFF_ADMIN_TOKEN>` (`adminAuth`). In
sandbox mode it is `sandbox-admin-token` unless `BFF_ADMIN_TOKEN` is set; outside it has no
default (32+ characters).

### The simulator's spec

In sandbox mode, the simulator (`/sandbox/_sim/*`: users, login codes, `wx.addCard`, the
activation form, gifting, faults, resets) has its own spec, `/sandbox/openapi.json`: pick
**sandbox simulator (/_sim)** in this page's top bar. The rest of `/sandbox` answers as
`api.weixin.qq.com` does.
"""

CARD_ID = "pFS7Fjg8kV1IdDz01r4SQwMkuCKc"  # as WeChat hands them out: "p" and 27 characters
MEMBER_CARD_ID = "pFS7Fjg8kV1IdDz01r4SQwMkuCKm"
ENCRYPT_CODE = "E3GL0wQ7nNyQxpJ4hwsqIxbd0BIk0UWTbE3z1R7A9f8="
OPENID = "oFS7Fjl0WsZ9AMZqrI80nbIq8xrA"

_BASE_INFO = {
    "logo_url": "https://mmbiz.qpic.cn/mmbiz/logo.png",
    "brand_name": "Example Coffee",
    "code_type": "CODE_TYPE_QRCODE",
    "title": "¥10 off",
    "color": "Color010",
    "notice": "Show the code at the counter",
    "description": "One per order; not with other offers",
    "sku": {"quantity": 1000},
    "date_info": {"type": "DATE_TYPE_FIX_TERM", "fixed_term": 30, "fixed_begin_term": 0},
    "get_limit": 1,
}

REQUEST_EXAMPLES: dict[str, Any] = {
    # users (a session token)
    "Login": {"code": "0a3Xb2000Jw8XT1Z7Y000kAfe81Xb20B"},
    "AddCard": {"cards": [{"card_id": CARD_ID, "outer_str": "poster-7"}]},
    "Decrypt": {"encrypt_code": ENCRYPT_CODE, "card_id": CARD_ID},
    "ChooseCard": {"card_type": "GROUPON"},
    "JssdkConfig": {"url": "https://h5.example.com/coupons?from=menu"},
    "Redeem": {"card_id": CARD_ID, "code": "110201201245"},
    "PluginRequest": {"card_id": MEMBER_CARD_ID, "outer_str": "member-page"},
    "ActivateRequest": {"activate_ticket": "fDZv9eMQAFfrNr3XBoqhb8eUX67DFb6h8yUDxHJ9",
                        "card_id": MEMBER_CARD_ID, "encrypt_code": ENCRYPT_CODE},
    # operators (an operator's token or BFF_ADMIN_TOKEN)
    "QrCodeRequest": {"cards": [{"card_id": CARD_ID, "outer_str": "poster-7"}],
                      "expire_seconds": 1800},
    "LandingPageRequest": {"banner": "https://mmbiz.qpic.cn/mmbiz/banner.jpg",
                           "page_title": "This week's offers", "can_share": True,
                           "scene": "SCENE_QRCODE",
                           "card_list": [{"card_id": CARD_ID,
                                          "thumb_url": "https://mmbiz.qpic.cn/mmbiz/thumb.jpg"}]},
    "Whitelist": {"openid": [OPENID], "username": ["tester-wechat-id"]},
    "Codes": {"codes": ["110201201245", "110201201246"]},
    "CodeRef": {"card_id": CARD_ID, "code": "110201201245"},
    "RedeemRequest": {"card_id": CARD_ID, "code": "110201201245", "staff_id": "till-1",
                      "location": "Store 12"},
    "MemberChange": {"add_bonus": 100, "record_bonus": "Order 8812", "by": "till-1"},
    "UnavailableRequest": {"card_id": CARD_ID, "code": "110201201245",
                           "reason": "printed in error"},
    "CodeUpdateRequest": {"card_id": CARD_ID, "code": "110201201245", "new_code": "110201201299"},
    "CardCreate": {"card": {"card_type": "CASH",
                            "cash": {"base_info": _BASE_INFO, "least_cost": 5000,
                                     "reduce_cost": 1000}}},
    "CardChange": {"base_info": {"description": "One per order", "get_limit": 2}},
    "Stock": {"delta": 100},
    "ActivationForm": {"required_form": {"common_field_id_list": [
        "USER_FORM_INFO_FLAG_NAME", "USER_FORM_INFO_FLAG_MOBILE"]},
        "optional_form": {"common_field_id_list": ["USER_FORM_INFO_FLAG_BIRTHDAY"]}},
    "Profile": {"self_redeem": True, "code_mode": "none",
                "membership_number": {"mode": "sequence", "prefix": "M", "width": 8},
                "init_bonus": 100, "init_balance": 5000},
    "PoolLoad": {"codes": ["A1000001", "A1000002", "A1000003"]},
    "BroadcastRequest": {"card_id": CARD_ID, "to": {"tag_id": 100},
                         "client_msg_id": "spring-sale-1"},
    "PreviewRequest": {"card_id": CARD_ID, "openid": OPENID},
    "CardMessageRequest": {"openid": OPENID, "card_id": CARD_ID},
    "SelfConsumeCell": {"is_open": True, "need_verify_cod": False, "need_remark_amount": True},
    "PayCell": {"is_open": True},
    "CodeMark": {"card_id": CARD_ID, "code": "110201201245", "openid": OPENID, "is_mark": True},
    # the console: an operator's token (bff operators add prints it once)
    "SignIn": {"token": "bffop_3kTq9wX0cY7bN2mLp5rV8sZ1dF4gH6jK0aQwEeRtYuI"},
}
