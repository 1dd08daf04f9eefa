"""Demo H5 pages at ``/demo/`` (sandbox mode only): the user story in a phone-sized browser.

Each page is a template on one frame (``templates/demo/page.html``: head, WeChat scripts, nav);
what their scripts share is ``static/demo.js``. The pages use only the JS client
(``clients/js``) and the official JS-SDK (npm ``weixin-js-sdk``, installed by ``npm ci`` at the
repository's root) against the sandbox's ``/jsbridge.js``. Both are read from the source
checkout: the demo is for development.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, abort, jsonify, render_template, send_from_directory
from flask.wrappers import Response

from bff.domain import profiles
from bff.ground.config import SANDBOX_ADMIN_TOKEN
from bff.ground.services import Services, services
from bff.ground.store import keys

STATIC = Path(__file__).parent / "static"
PAGES = ("index", "coupons", "cards", "member", "staff")  # templates/demo/<name>.html


def _repository() -> Path:
    """The source checkout this package runs from (where ``npm ci`` put the JS-SDK and the
    client lives): the nearest parent with a pyproject.toml; the package's own folder when
    installed elsewhere (the demo then reports both as missing)."""
    here = Path(__file__).resolve()
    return next((p for p in here.parents if (p / "pyproject.toml").is_file()), here.parent)


REPO = _repository()
CLIENT_DIR = REPO / "clients" / "js"
JSSDK_FILE = REPO / "node_modules" / "weixin-js-sdk" / "index.js"

# What the seeded cards look like (valid card/create definitions); the member card starts
# members with some bonus and balance.
_BASE = {"logo_url": "http://mmbiz.qpic.cn/mmbiz/bffdemo/0", "brand_name": "bff demo",
         "code_type": "CODE_TYPE_QRCODE", "color": "Color010", "notice": "Show the code",
         "description": "A demo card of the sandbox", "can_share": False,
         "can_give_friend": False}
_FOREVER = {"type": "DATE_TYPE_PERMANENT"}
_A_YEAR = {"type": "DATE_TYPE_FIX_TERM", "fixed_term": 365, "fixed_begin_term": 0}
COUPON = {"card_type": "GENERAL_COUPON", "general_coupon": {
    "base_info": {**_BASE, "title": "¥10 off any order", "sku": {"quantity": 100000},
                  "get_limit": 0, "date_info": _A_YEAR},
    "default_detail": "¥10 off an order of ¥50 or more (demo)"}}
MEMBER = {"card_type": "MEMBER_CARD", "member_card": {
    "base_info": {**_BASE, "title": "Demo member card", "sku": {"quantity": 100000},
                  "get_limit": 1, "date_info": _FOREVER},
    "prerogative": "Points on every order (demo)", "supply_bonus": True, "supply_balance": True,
    "wx_activate": True}}
MEMBER_PROFILE = {"init_bonus": 100, "init_bonus_record": "welcome bonus",
                  "init_balance": 5000}

bp = Blueprint("demo", __name__, url_prefix="/demo", template_folder="templates")


def register_demo(app: Flask) -> None:
    """Serve the demo pages; only ever called in sandbox mode."""
    app.register_blueprint(bp)


def demo_cards(svc: Services) -> dict[str, str]:
    """The coupon and member card the pages use, created through WeChat's card/create once."""
    key = keys.demo_cards()
    cards = svc.redis.hgetall(key)
    if cards.get("coupon") and cards.get("member"):
        return cards
    for name, body in (("coupon", COUPON), ("member", MEMBER)):
        if cards.get(name):
            continue
        card_id = svc.wechat.card_create(body)["card_id"]
        _approve(svc, card_id)
        if name == "member":
            profiles.put_profile(svc.redis, card_id, MEMBER_PROFILE)
        svc.redis.hsetnx(key, name, card_id)  # a concurrent first request may have won
    return svc.redis.hgetall(key)


def _approve(svc: Services, card_id: str) -> None:
    """The demo plays WeChat's reviewer: the sandbox approves the card (and pushes
    card_pass_check, which the worker records too); the review state is recorded at once."""
    client = svc.wechat.client
    answer = client.session.post(f"{client.base_url}/_sim/cards/{card_id}/review",
                                 json={"approve": True}, timeout=10)
    answer.raise_for_status()
    profiles.set_review_state(svc.redis, card_id, "approved")


@bp.get("/config.json")
def config() -> Response:
    """What the pages need: the appid, the demo cards and, in the default sandbox, staff's token."""
    svc = services()
    answer: dict[str, Any] = {"appId": svc.settings.appid, "cards": demo_cards(svc),
                              "jssdk": JSSDK_FILE.is_file(), "client": CLIENT_DIR.is_dir()}
    # Only the well-known sandbox token is handed out; a real one is never put in a page.
    answer["staffToken"] = (SANDBOX_ADMIN_TOKEN if svc.settings.admin_token ==
                            SANDBOX_ADMIN_TOKEN else None)
    response = jsonify(answer)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/")
def index() -> str:
    return page("index")


@bp.get("/<name>.html")
def page(name: str) -> str:
    """A page: its own part on the frame every page shares (templates/demo/page.html)."""
    if name not in PAGES:
        abort(404)
    return render_template(f"demo/{name}.html", page=name)


@bp.get("/demo.css")
def stylesheet() -> Response:
    return send_from_directory(STATIC, "demo.css")


@bp.get("/demo.js")
def page_script() -> Response:
    return send_from_directory(STATIC, "demo.js")


@bp.get("/client/<path:path>")
def client_module(path: str) -> Response:
    """The JS client's ES modules, as an H5 page would bundle them."""
    if not CLIENT_DIR.is_dir():
        abort(404)
    return send_from_directory(CLIENT_DIR, path)


@bp.get("/vendor/jweixin.js")
def jssdk() -> Response:
    """The official JS-SDK file, unmodified, loaded as a bundler would load a CommonJS module."""
    if not JSSDK_FILE.is_file():
        return Response("console.error('weixin-js-sdk is not installed: run npm ci at the "
                        "repository root');\n", mimetype="application/javascript")
    source = JSSDK_FILE.read_text("utf-8")
    wrapped = ("(function (module) {\n" + source +
               "\nwindow.wx = window.jWeixin = module.exports;\n})({ exports: {} });\n")
    return Response(wrapped, mimetype="application/javascript")
