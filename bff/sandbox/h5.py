"""WeChat's side of an H5 page: web authorization and the native bridge the JS-SDK talks to.

- ``GET /connect/oauth2/authorize``: open.weixin.qq.com's web-authorization page. Here a person
  picks (or creates) the simulated user they are; ``POST`` then redirects to
  ``redirect_uri?code=…&state=…`` with a login code for ``/sns/oauth2/access_token``.
- ``GET /jsbridge.js``: a stand-in for ``window.WeixinJSBridge``; load it before the official
  JS-SDK. It acts as the user named by its own ``?user=`` (or the page's), else the user of the
  login code the page came back with, else the one picked on the authorize page (remembered in
  a cookie of this origin).
"""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import Blueprint, redirect, render_template, request
from flask.wrappers import Response

from bff.sandbox.core import Sandbox
from bff.sandbox.sim import new_login_code, new_user
from bff.sandbox.sim_jsapi import host_allowed
from bff.sandbox.web import sandbox

bp = Blueprint("h5", __name__, template_folder="templates")

USER_COOKIE = "wxsandbox_user"
SCOPES = ("snsapi_base", "snsapi_userinfo")
LISTED_USERS = 30
_OPENID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _bridge_source() -> str:
    return resources.files("bff.sandbox").joinpath("static/jsbridge.js").read_text("utf-8")


@bp.get("/jsbridge.js")
def jsbridge() -> Response:
    """The WeixinJSBridge stand-in, with the Official Account's appid and the chosen user."""
    sb = sandbox()
    chosen = request.cookies.get(USER_COOKIE, "")
    user = sb.resolve_user(chosen) if _OPENID.match(chosen) else None
    settings = {"appId": sb.config.oa_appid, "chosenUser": user["oa_openid"] if user else None,
                "base": request.url_root.rstrip("/")}
    # JSON is a JS literal; escaping "<" keeps it inert even if pasted into an HTML page.
    literal = json.dumps(settings).replace("<", "\\u003c")
    source = _bridge_source().replace("__WXSANDBOX_SETTINGS__", literal, 1)
    response = Response(source, mimetype="application/javascript")
    response.headers["Cache-Control"] = "no-store"  # the chosen user changes
    return response


def _problem(sb: Sandbox, args: Any) -> tuple[str, int] | None:
    """WeChat's refusal of an authorize request: (message, its error number), or None."""
    if args.get("appid") != sb.config.oa_appid:
        return "appid is not this Official Account's", 10002
    redirect_uri = args.get("redirect_uri") or ""
    if len(redirect_uri) > 2048 or not host_allowed(sb, redirect_uri):
        return "redirect_uri is not on an authorised callback domain", 10003
    if args.get("response_type", "code") != "code":
        return "response_type must be code", 10004
    if args.get("scope", "snsapi_base") not in SCOPES:
        return "scope must be snsapi_base or snsapi_userinfo", 10005
    if len(args.get("state", "")) > 128:
        return "state is longer than 128 bytes", 10006
    return None


def _users(sb: Sandbox) -> list[dict[str, str]]:
    users = []
    for key in sb.r.scan_iter(match=sb.keys.user("*"), count=500):
        user = sb.r.hgetall(key)
        if user.get("oa_openid"):
            users.append(user)
        if len(users) >= 500:
            break
    users.sort(key=lambda u: float(u.get("created_at", 0)), reverse=True)
    return users[:LISTED_USERS]


@bp.get("/connect/oauth2/authorize")
def authorize_page() -> tuple[str, int] | str:
    """The web-authorization page: pick or create the simulated user."""
    sb = sandbox()
    problem = _problem(sb, request.args)
    if problem:
        return render_template("authorize.html", problem=problem), 400
    return render_template("authorize.html", problem=None, args=request.args,
                           users=_users(sb), chosen=request.cookies.get(USER_COOKIE))


@bp.post("/connect/oauth2/authorize")
def authorize() -> Response | tuple[str, int]:
    """The person's choice: redirect to ``redirect_uri`` with a login code and the state."""
    sb = sandbox()
    form = request.form
    problem = _problem(sb, form)
    if problem:
        return render_template("authorize.html", problem=problem), 400
    picked = form.get("user", "")
    if picked == "new":
        user = new_user(sb)
    else:
        user = sb.resolve_user(picked) if _OPENID.match(picked) else None
        if user is None:
            return render_template("authorize.html", problem=("unknown user", 10010)), 400
    code = new_login_code(sb, user, "h5")  # type: ignore[arg-type]
    parts = urlsplit(form["redirect_uri"])
    query = parse_qsl(parts.query, keep_blank_values=True)
    query = [(k, v) for k, v in query if k not in ("code", "state")]
    query += [("code", code), ("state", form.get("state", ""))]
    target = urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))
    response = redirect(target, 302)
    response.set_cookie(USER_COOKIE, str(user["oa_openid"]), max_age=30 * 86400,
                        path=(request.script_root or "") + "/", httponly=True, samesite="Lax")
    return response
