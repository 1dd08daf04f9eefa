"""What WeChat's client does for a JS-SDK page: wx.config, wx.chooseCard, wx.openCard.

The bridge script (``/jsbridge.js``) calls these on behalf of the simulated user; they check
signatures with the sandbox's own tickets, independently of the BFF's signing code.
"""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import urlencode, urlsplit

from flask import Blueprint, jsonify
from flask.wrappers import Response

from bff.sandbox import crypto
from bff.sandbox.api_auth import valid_tickets
from bff.sandbox.cards import held_cards, status_of
from bff.sandbox.core import Sandbox, SimError
from bff.sandbox.push import card_event, push_event, summary
from bff.sandbox.state import load_json
from bff.sandbox.web import sandbox, sim_body, user_request

bp = Blueprint("sim_jsapi", __name__, url_prefix="/_sim")

MAX_CARDS = 50  # one page of the card picker; WeChat's wx.openCard takes a handful at a time


def _text(body: dict[str, Any], name: str, *, required: bool = True, numeric: bool = False
          ) -> str:
    """A string field (numbers accepted where WeChat's JS-SDK stringifies them)."""
    value = body.get(name)
    if isinstance(value, int) and not isinstance(value, bool) and numeric:
        value = str(value)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value):
        raise SimError(f"{name} must be a non-empty string" if required
                       else f"{name} must be a string")
    if len(value) > 2048:
        raise SimError(f"{name} is too long")
    return value


def jsapi_signature(ticket: str, nonce: str, timestamp: str, url: str) -> str:
    """WeChat's wx.config signature: SHA-1 of the four pairs in ASCII key order."""
    plain = f"jsapi_ticket={ticket}&noncestr={nonce}&timestamp={timestamp}&url={url}"
    return hashlib.sha1(plain.encode("utf-8")).hexdigest()


def host_allowed(sb: Sandbox, url: str) -> bool:
    """The page's host is one of the Official Account's JS-interface / callback domains."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    return not sb.config.web_hosts or parts.hostname in sb.config.web_hosts


def config_result(sb: Sandbox, body: dict[str, Any]) -> str:
    """``ok`` or WeChat's reason for refusing a wx.config."""
    url = _text(body, "url").split("#", 1)[0]
    app_id = _text(body, "appId", required=False)
    timestamp = _text(body, "timestamp", required=False, numeric=True)
    nonce = _text(body, "nonceStr", required=False)
    signature = _text(body, "signature", required=False)
    if app_id != sb.config.oa_appid:
        return "invalid appid"
    if not host_allowed(sb, url):
        return "invalid url domain"
    tickets = valid_tickets(sb, app_id, "jsapi")
    if not signature or not any(jsapi_signature(t, nonce, timestamp, url) == signature
                                for t in tickets):
        return "invalid signature"
    return "ok"


@bp.post("/jsapi/config")
def verify_config() -> Response:
    """wx.config: the page's URL, appId, timestamp, nonceStr and signature against the ticket."""
    return jsonify(result=config_result(sandbox(), sim_body()))


def card_sign_valid(sb: Sandbox, body: dict[str, Any]) -> bool:
    """cardSign over the wx_card ticket, app_id, location_id, time_stamp, nonce_str, card_id,
    card_type (absent ones empty)."""
    values = [_text(body, name, required=False, numeric=name == "time_stamp")
              for name in ("app_id", "location_id", "time_stamp", "nonce_str", "card_id",
                           "card_type")]
    sign = _text(body, "card_sign", required=False)
    if values[0] != sb.config.oa_appid or not sign:
        return False
    return any(crypto.sorted_sha1(t, *values) == sign
               for t in valid_tickets(sb, sb.config.oa_appid, "wx_card"))


def _holdings(sb: Sandbox, oa_openid: str) -> list[tuple[dict[str, str], dict[str, str]]]:
    """(card, code record) for each code the user holds, newest first."""
    return sorted(held_cards(sb, oa_openid, sb.config.oa_appid),
                  key=lambda pair: float(pair[1].get("received_at", 0)), reverse=True)


@bp.post("/choose-card")
def choose_card() -> Response:
    """wx.chooseCard: the user's usable cards that match; a bad cardSign gives an empty list."""
    sb, body, user = user_request()
    if not card_sign_valid(sb, body):
        return jsonify(sign_ok=False, cards=[])
    card_id = _text(body, "card_id", required=False)
    card_type = _text(body, "card_type", required=False)
    now = sb.clock.now()
    cards = [
        {"card_id": card["card_id"], "title": card.get("title", ""), "card_type":
         card["card_type"], "encrypt_code": crypto.seal(sb.code_key(card["appid"]),
                                                         record["code"])}
        for card, record in _holdings(sb, user["oa_openid"])
        if status_of(card, record, now) == "NORMAL"
        and (not card_id or card["card_id"] == card_id)
        and (not card_type or card["card_type"] == card_type)
    ][:MAX_CARDS]
    return jsonify(sign_ok=True, cards=cards)


# The card's entries that lead out of it: (where in the definition, its name field).
LINK_ENTRIES = (("base_info", "center"), ("base_info", "custom"), ("base_info", "promotion"),
                ("", "bonus"), ("", "balance"))
LINK_CELLS = ("custom_cell1", "custom_cell2", "custom_field1", "custom_field2", "custom_field3")


def card_links(sb: Sandbox, card: dict[str, str], record: dict[str, str]) -> list[dict[str, Any]]:
    """The card view's links, as WeChat opens them: each web URL and Mini Program page with
    ``encrypt_code``, ``card_id`` and ``openid`` appended, and ``outer_str`` for member cards."""
    params = {"encrypt_code": crypto.seal(sb.code_key(card["appid"]), record["code"]),
              "card_id": card["card_id"], "openid": record.get("openid", "")}
    if card["card_type"] == "MEMBER_CARD":
        params["outer_str"] = record.get("outer_str", "")
    definition = load_json(card.get("definition"), {}) or {}
    detail = definition.get(card["card_type"].lower()) or {}
    found: list[tuple[str, dict[str, Any], str]] = []
    for where, entry in LINK_ENTRIES:
        obj = detail.get(where) if where else detail
        if isinstance(obj, dict):
            found.append((entry, obj, f"{entry}_"))
    found += [(name, detail[name], "") for name in LINK_CELLS if isinstance(detail.get(name), dict)]
    links = []
    for entry, obj, prefix in found:
        url = obj.get(f"{prefix}url")
        if isinstance(url, str) and url:
            links.append({"entry": entry, "url": with_query(url, params)})
        brand, page = obj.get(f"{prefix}app_brand_user_name"), obj.get(f"{prefix}app_brand_pass")
        if isinstance(brand, str) and brand:
            links.append({"entry": entry, "app_brand_user_name": brand,
                          "app_brand_pass": with_query(page if isinstance(page, str) else "",
                                                       params)})
    return links


def with_query(url: str, params: dict[str, str]) -> str:
    """``url`` with ``params`` appended to its query, as WeChat appends them."""
    return url + ("&" if "?" in url else "?") + urlencode(params)


@bp.post("/open-card")
def open_card() -> Response:
    """wx.openCard: the user views cards they hold; each view pushes ``user_view_card``."""
    sb, body, user = user_request()
    card_list = body.get("card_list")
    if not isinstance(card_list, list) or not 1 <= len(card_list) <= MAX_CARDS:
        raise SimError(f"card_list must be a list of 1 to {MAX_CARDS} {{card_id, code}}")
    held = {(card["card_id"], record["code"]): (card, record)
            for card, record in _holdings(sb, user["oa_openid"])}
    now = sb.clock.now()
    opened, pushed = [], []
    for entry in card_list:
        if not isinstance(entry, dict):
            raise SimError("each card_list entry must be an object {card_id, code}")
        key = (_text(entry, "card_id"), _text(entry, "code"))
        if key not in held:
            opened.append({"card_id": key[0], "code": key[1], "opened": False})
            continue
        card, record = held[key]
        opened.append({"card_id": key[0], "code": key[1], "opened": True,
                       "title": card.get("title", ""), "card_type": card["card_type"],
                       "user_card_status": status_of(card, record, now),
                       "links": card_links(sb, card, record)})
        fields = card_event(sb, "user_view_card", user["oa_openid"], CardId=key[0],
                            UserCardCode=key[1], OuterStr=record.get("outer_str", ""))
        pushed.append(summary(push_event(sb, fields)))
    return jsonify(card_list=opened, pushed=pushed)
