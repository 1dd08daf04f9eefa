"""The simulator's own OpenAPI spec at ``/openapi.json`` (``/sandbox/openapi.json`` mounted).

Written by hand, beside the views it describes; a test checks that every ``/_sim`` route is
here and nothing else is. The WeChat API paths are WeChat's and documented by WeChat.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request
from flask.wrappers import Response

from bff.sandbox.card_rules import CARD_TYPES
from bff.sandbox.cards import DEPOSIT_MODE, STATUSES

bp = Blueprint("sim_spec", __name__)

# WeChat's activation-form field names (activateuserform/set, the plug-in's form)
FORM_FIELDS = (
    "USER_FORM_INFO_FLAG_MOBILE", "USER_FORM_INFO_FLAG_SEX", "USER_FORM_INFO_FLAG_NAME",
    "USER_FORM_INFO_FLAG_BIRTHDAY", "USER_FORM_INFO_FLAG_IDCARD", "USER_FORM_INFO_FLAG_EMAIL",
    "USER_FORM_INFO_FLAG_LOCATION", "USER_FORM_INFO_FLAG_EDUCATION_BACKGRO",
    "USER_FORM_INFO_FLAG_INDUSTRY", "USER_FORM_INFO_FLAG_INCOME", "USER_FORM_INFO_FLAG_HABIT",
)
USER = {"type": "string", "description": "any of the simulated user's ids: mp_openid, "
        "oa_openid or unionid"}
PUSHED = {"type": "array", "description": "the card events pushed to the configured event URL",
          "items": {"$ref": "#/components/schemas/Push"}}


def _obj(required: tuple[str, ...] = (), **props: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": props}
    if required:
        schema["required"] = list(required)
    return schema


def _str(description: str = "", **extra: Any) -> dict[str, Any]:
    return {"type": "string", **({"description": description} if description else {}), **extra}


def _op(summary: str, answer: dict[str, Any], body: dict[str, Any] | None = None,
        errors: tuple[int, ...] = (400,), parameters: list | None = None) -> dict[str, Any]:
    tag, _, text = summary.partition(": ")  # "cards: create a card" -> tag "cards"
    op: dict[str, Any] = {
        "summary": text, "tags": [tag],
        "responses": {"200": {"description": "OK",
                              "content": {"application/json": {"schema": answer}}}},
    }
    for status in errors:
        op["responses"][str(status)] = {"$ref": "#/components/responses/SimError"}
    if body is not None:
        op["requestBody"] = {"required": False,
                             "content": {"application/json": {"schema": body}}}
    if parameters:
        op["parameters"] = parameters
    return op


HOLDER = [
    {"in": "path", "name": "oa_openid", "required": True, "schema": _str(),
     "description": "the holder's Official Account openid"},
    {"in": "path", "name": "code", "required": True, "schema": _str(),
     "description": "the real (decrypted) code"},
]
FAULT = _obj(
    ("path",),
    path=_str("a WeChat path, e.g. /cgi-bin/stable_token or card/code/decrypt"),
    errcode={"type": "integer", "description": "answer this errcode (e.g. -1 busy, 45011 quota)"},
    http_status={"type": "integer", "description": "answer this HTTP status instead"},
    latency_ms={"type": "integer", "description": "delay the answer"},
    latency_after_ms={"type": "integer", "description": "do the call, then delay its answer "
                      "(the call takes effect; its answer is slow)"},
    count={"type": "integer", "minimum": 1, "default": 1, "description": "how many calls"},
)
CONFIG = _obj(
    event_url={"type": "string", "nullable": True,
               "description": "where card events are pushed (mounted: the app's /wechat/events)"},
    safe_mode={"type": "boolean", "description": "encrypt pushes (AES safe mode)"},
    latency_ms={"type": "integer", "minimum": 0, "description": "added to every WeChat call"},
    push_history={"type": "integer", "minimum": 1, "description": "pushes remembered"},
    push_delay_ms={"type": "integer", "minimum": 0, "maximum": 60000, "default": 0,
                   "description": "each push is made this much later, from a background "
                   "thread of the process, in order (0: at once, before the call answers); a "
                   "retry after a dropped attempt waits as long again. Answers show such a "
                   "push as scheduled; POST /_sim/pushes/wait waits for them"},
    push_drop={"type": "integer", "minimum": 0, "maximum": 3, "default": 0,
               "description": "the first N attempts of each push are not delivered, then "
               "retried as WeChat does (3 attempts in all): 3 loses every push, as when "
               "WeChat gives up"},
    push_duplicate={"type": "boolean", "default": False,
                    "description": "each push is delivered twice (the same event)"},
    push_reorder={"type": "boolean", "default": False,
                  "description": "the pushes one call makes (a gift's two events, several "
                  "cards of one wx.addCard) are delivered in reverse order, after it answers"},
)
TAKEN = _obj(card_id=_str(), code=_str("the real code"),
             encrypt_code=_str("the code encrypted, as WeChat hands it to pages"),
             pushed=PUSHED)
CLOCK = _obj(now={"type": "number"}, offset={"type": "number"})


def _paths() -> dict[str, Any]:
    card_item = _obj(("cardId", "cardExt"), cardId=_str(), cardExt=_str(
        "the JSON string the BFF signed (POST /v1/cards/add-card), as given to wx.addCard"))
    added = _obj(cardId=_str(), cardExt=_str(), isSuccess={"type": "boolean"},
                 code=_str("the code, encrypted as wx.addCard returns it (decrypt it with "
                           "POST /v1/cards/codes/decrypt)"),
                 errcode={"type": "integer"}, errmsg=_str())
    return {
        "/_sim/users": {"post": _op(
            "users: create a simulated WeChat user",
            _obj(mp_openid=_str(), oa_openid=_str(), unionid=_str(nullable=True)),
            _obj(unionid={"type": "boolean", "default": True}, nickname=_str(),
                 sex={"type": "integer", "enum": [0, 1, 2]}))},
        "/_sim/login-codes": {"post": _op(
            "users: a login code, as wx.login (miniprogram) or web authorization (h5) gives",
            _obj(code=_str("12 digits, valid 5 minutes, once")),
            _obj(("user",), user=USER, app=_str(enum=["miniprogram", "h5"],
                                                 default="miniprogram")), (400, 404))},
        "/_sim/login-codes/{code}": {"get": _op(
            "users: whose login code this is (the bridge script asks, back from authorization)",
            _obj(app=_str(enum=["miniprogram", "h5"]), oa_openid=_str(), mp_openid=_str()),
            None, (404,), [{"in": "path", "name": "code", "required": True, "schema": _str()}])},
        "/_sim/cards": {"post": _op(
            "cards: create a card of the Official Account",
            _obj(card_id=_str()),
            _obj(card_type=_str(enum=list(CARD_TYPES), default="GENERAL_COUPON"), title=_str(),
                 quantity={"type": "integer", "default": 100000},
                 get_limit={"type": "integer", "default": 0},
                 use_custom_code={"type": "boolean", "default": False},
                 get_custom_code_mode=_str(f"{DEPOSIT_MODE} for deposited custom codes"),
                 bind_openid={"type": "boolean", "default": False},
                 date_info={"type": "object", "description": "WeChat's base_info.date_info"},
                 approved={"type": "boolean", "default": True},
                 custom_url=_str("the card's custom entry (custom_url): /_sim/open-card offers "
                                 "it with the link parameters WeChat appends")))},
        "/_sim/cards/{card_id}/review": {"post": _op(
            "cards: WeChat's reviewer decides (card_pass_check / card_not_pass_check is pushed)",
            _obj(status=_str(), pushed=PUSHED),
            _obj(("approve",), approve={"type": "boolean"},
                 reason=_str("RefuseReason; required when approve is false")), (400, 404),
            [{"in": "path", "name": "card_id", "required": True, "schema": _str()}])},
        "/_sim/add-card": {"post": _op(
            "cards: the user takes cards (wx.addCard): each cardExt is verified as WeChat does",
            _obj(card_list={"type": "array", "items": added}, pushed=PUSHED),
            _obj(("user", "card_list"), user=USER,
                 card_list={"type": "array", "items": card_item, "minItems": 1},
                 unionid_in_event={"type": "boolean", "default": True}), (400, 404))},
        "/_sim/activation-form": {"post": _op(
            "membership: the user fills in the activation plug-in's form; its return data",
            _obj(activate_ticket=_str(), card_id=_str(), code=_str(),
                 encrypt_code=_str(), pushed=PUSHED),
            _obj(("user", "encrypt_card_id", "biz"), user=USER,
                 encrypt_card_id=_str("extraData.encrypt_card_id, decoded exactly once"),
                 biz=_str("extraData.biz"), outer_str=_str(),
                 fields={"type": "object", "description": "WeChat's field names: "
                         + ", ".join(FORM_FIELDS),
                         "properties": {name: _str() for name in FORM_FIELDS}},
                 custom_fields={"type": "object", "description": "custom field name -> value "
                                "(a list for multiple choice)",
                                "additionalProperties": {}}), (400, 404, 409))},
        "/_sim/jsapi/config": {"post": _op(
            "jsapi: wx.config as WeChat checks it (the bridge /jsbridge.js calls this)",
            _obj(("result",), result=_str("ok, or WeChat's reason: invalid signature, "
                                          "invalid url domain, invalid appid")),
            _obj(("url",), url=_str("the page URL; its #fragment is not signed"),
                 appId=_str(), timestamp=_str(), nonceStr=_str(),
                 signature=_str("sha1 of jsapi_ticket, noncestr, timestamp, url")))},
        "/_sim/choose-card": {"post": _op(
            "jsapi: wx.chooseCard: the user's usable cards, if cardSign is right",
            _obj(("sign_ok", "cards"), sign_ok={"type": "boolean"}, cards={
                "type": "array", "description": "empty when cardSign is wrong, as in WeChat",
                "items": _obj(card_id=_str(), title=_str(), card_type=_str(),
                              encrypt_code=_str())}),
            _obj(("user",), user=USER, app_id=_str(), location_id=_str(), card_id=_str(),
                 card_type=_str(), time_stamp=_str(), nonce_str=_str(), sign_type=_str(),
                 card_sign=_str("sha1 of the wx_card ticket and the other values, sorted")),
            (400, 404))},
        "/_sim/open-card": {"post": _op(
            "jsapi: wx.openCard: the user views cards they hold (user_view_card is pushed)",
            _obj(card_list={"type": "array", "items": _obj(
                card_id=_str(), code=_str(), opened={"type": "boolean"}, title=_str(),
                card_type=_str(), user_card_status=_str(), links={
                    "type": "array", "description": "the card's links as WeChat opens them: "
                    "encrypt_code, card_id, openid (and outer_str for member cards) appended",
                    "items": _obj(entry=_str("center, custom, promotion, bonus, balance, "
                                             "custom_cell1/2, custom_field1..3"),
                                  url=_str(), app_brand_user_name=_str(),
                                  app_brand_pass=_str())})}, pushed=PUSHED),
            _obj(("user", "card_list"), user=USER, card_list={
                "type": "array", "minItems": 1, "maxItems": 50,
                "items": _obj(("card_id", "code"), card_id=_str(), code=_str(
                    "the real (decrypted) code"))}), (400, 404))},
        "/_sim/users/{oa_openid}/cards/{code}/delete": {"post": _op(
            "holdings: the user deletes a card (user_del_card is pushed)",
            _obj(status=_str(), pushed=PUSHED), _obj(card_id=_str()), (400, 404, 409),
            HOLDER)},
        "/_sim/users/{oa_openid}/cards/{code}/gift": {"post": _op(
            "holdings: the user gives a card to a friend (gifting + get events)",
            _obj(card_id=_str(), old_code=_str(), code=_str(), encrypt_code=_str(), to=_str(),
                 pushed=PUSHED),
            _obj(("to",), to=USER, card_id=_str()), (400, 404, 409), HOLDER)},
        "/_sim/users/{oa_openid}/cards/{code}/consume": {"post": _op(
            "holdings: the code is consumed in WeChat (user_consume_card is pushed)",
            _obj(status=_str(), pushed=PUSHED),
            _obj(card_id=_str(), consume_source=_str(default="FROM_MOBILE_HELPER"),
                 location_name=_str(), staff_openid=_str()), (400, 404, 409), HOLDER)},
        "/_sim/users/{openid}/messages": {"get": _op(
            "messages: what the user received (broadcasts, previews, customer-service "
            "messages), oldest first",
            _obj(("messages",), messages={"type": "array", "items": _obj(
                ("msg_id", "msgtype", "at"), msg_id=_str("WeChat's msg_id (a broadcast's is "
                                                         "the same for every receiver)"),
                msgtype=_str(enum=["wxcard"]), card_id=_str("the card a wxcard message offers"),
                at={"type": "integer", "description": "sandbox time, epoch seconds"},
                via=_str(enum=["mass", "preview", "custom"]))}),
            None, (404,), [{"in": "path", "name": "openid", "required": True, "schema": USER}])},
        "/_sim/take-from-message": {"post": _op(
            "messages: the user opens a card message and takes its card (user_get_card is "
            "pushed)",
            _obj(card_id=_str(), code=_str("the real code"), encrypt_code=_str(),
                 pushed=PUSHED),
            _obj(("user", "msg_id"), user=USER, msg_id=_str("from the user's messages")),
            (400, 404, 409, 422))},
        "/_sim/events": {"post": _op(
            "pushes: push any event; the body's fields become the XML's elements",
            _obj(event=_str(), delivered={"type": "boolean"}, fields={"type": "object"}),
            _obj(("Event",), Event=_str(), FromUserName=_str()))},
        "/_sim/pushes": {"get": _op(
            "pushes: the latest pushes and whether they were delivered",
            _obj(pushes={"type": "array", "items": {"type": "object"}}), None, (),
            [{"in": "query", "name": "limit", "schema": {"type": "integer", "default": 20,
                                                         "maximum": 200}}])},
        "/_sim/pushes/wait": {"post": _op(
            "pushes: wait until every push this process scheduled (push_delay_ms) is made",
            _obj(done={"type": "boolean"}, pending={"type": "integer"}),
            _obj(timeout_ms={"type": "integer", "default": 10000, "maximum": 60000}))},
        "/_sim/scan-qrcode": {"post": _op(
            "channels: the user scans a card QR code and takes its card (user_get_card is "
            "pushed with SourceScene SOURCE_SCENE_QRCODE, the QR code's OuterStr and OuterId)",
            TAKEN,
            _obj(("user", "ticket"), user=USER, ticket=_str("card/qrcode/create's ticket"),
                 card_id=_str("which card of a QR_MULTIPLE_CARD code (default: the first)")),
            (400, 404, 409))},
        "/_sim/take-from-landing-page": {"post": _op(
            "channels: the user takes a card on a landing page (user_get_card is pushed "
            "with the page's scene as SourceScene and the url's outer_str)",
            TAKEN,
            _obj(("user",), user=USER, page_id={"type": "integer"},
                 url=_str("card/landingpage/create's url (with &outer_str=... if any)"),
                 card_id=_str("default: the page's first card"), outer_str=_str()),
            (400, 404, 409))},
        "/_sim/faults": {
            "post": _op("faults: inject failures into a WeChat path", FAULT, FAULT),
            "get": _op("faults: the faults still armed", {"type": "object"}, None, ()),
            "delete": _op("faults: disarm all", _obj(deleted={"type": "integer"}), None, ()),
        },
        "/_sim/clock": {
            "get": _op("clock: the sandbox's time", CLOCK, None, ()),
            "post": _op("clock: move time forward (token, ticket and code expiry)", CLOCK,
                        _obj(("advance_seconds",), advance_seconds={"type": "number",
                                                                    "minimum": 0})),
        },
        "/_sim/calls": {
            "get": _op("calls: WeChat API calls received, by path",
                       {"type": "object", "additionalProperties": {"type": "integer"}}, None, ()),
            "delete": _op("calls: reset the counts", {"type": "object"}, None, ()),
        },
        "/_sim/config": {
            "get": _op("config: where and how events are pushed, latency", CONFIG, None, ()),
            "put": _op("config: change push URL, safe mode, latency, push timing", CONFIG,
                       CONFIG, (400, 422)),
        },
        "/_sim/tickets": {"get": _op(
            "config: the current wx_card and jsapi tickets (to check signatures independently)",
            _obj(wx_card=_str(), jsapi=_str()), None, ())},
        "/_sim/reset": {"post": _op("config: forget everything the sandbox stored",
                                    _obj(deleted={"type": "integer"}), None, ())},
    }


def sim_spec(server_url: str) -> dict[str, Any]:
    """The simulator's OpenAPI document, with ``server_url`` as where it is mounted."""
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "bff sandbox — the user simulator (/_sim)",
            "version": "v1",
            "description": "What users and WeChat do, simulated: users, login codes, cards, "
                           "wx.addCard, the activation form, consume/gift/delete, the messages "
                           "users received and taking a card from one, pushes, "
                           "faults, the clock and settings. Every other path of the sandbox "
                           "answers like api.weixin.qq.com. Card statuses: "
                           + ", ".join(STATUSES) + ".",
        },
        "servers": [{"url": server_url}],
        "paths": _paths(),
        "components": {
            "schemas": {"Push": _obj(event=_str(),
                                     delivered={"type": "boolean", "nullable": True,
                                                "description": "null while scheduled"},
                                     scheduled={"type": "boolean", "description": "made "
                                                "later (push timing in /_sim/config)"},
                                     attempts={"type": "integer"},
                                     http_status={"type": "integer", "nullable": True}),
                        "SimError": _obj(("error",), error=_str())},
            "responses": {"SimError": {
                "description": "the simulator refused: {error}",
                "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/SimError"}}}}},
        },
    }


@bp.get("/openapi.json")
def openapi_json() -> Response:
    return jsonify(sim_spec(request.script_root or "/"))
