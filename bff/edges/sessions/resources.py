"""Session endpoints: log in from a Mini Program or an H5 page, log out, who am I."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from bff.domain.sessions import service
from bff.domain.sessions.store import revoke_session
from bff.edges.http.openapi import UPSTREAM_FAILURES, documents
from bff.edges.http.quota import spends_quota
from bff.edges.http.user_auth import current_user, user_required
from bff.edges.sessions.schemas import LoginSchema, MeSchema, SessionSchema
from bff.ground.services import services

blp = Blueprint("sessions", __name__, url_prefix="/v1", description="Sessions and identity")

_LOGIN_ERRORS = {
    401: "40029: the code is invalid or expired",
    409: "40163: the code was already used",
    403: "40226: WeChat blocked the code",
    429: "too many logins, or too many refused login codes, from this address (BFF_LIMIT_*), "
         "or 45011: WeChat's per-minute quota; see Retry-After",
}
Login = Callable[..., tuple[str, dict]]


def login_operation(view: Callable[..., Any]) -> Callable[..., Any]:
    """The contract both logins share: a login code in, a new session (201) out."""
    view = documents(UPSTREAM_FAILURES)(documents(_LOGIN_ERRORS, own=True)(spends_quota(view)))
    return blp.arguments(LoginSchema())(blp.response(201, SessionSchema)(view))


def open_session(login: Login, code: str) -> dict:
    token, out = login(services(), code)
    return {"token": token, **out}


@blp.route("/sessions/miniprogram")
class MiniProgramSession(MethodView):
    @login_operation
    def post(self, data: dict) -> dict:
        """Log in with a wx.login code (jscode2session)"""
        return open_session(service.login_miniprogram, data["code"])


@blp.route("/sessions/h5")
class H5Session(MethodView):
    @login_operation
    def post(self, data: dict) -> dict:
        """Log in with a web authorization code (Official Account openid)"""
        return open_session(service.login_h5, data["code"])


@blp.route("/sessions/current")
class CurrentSession(MethodView):
    @blp.response(204)
    @user_required
    def delete(self) -> None:
        """Log out: revoke the caller's session token"""
        revoke_session(services().redis, current_user().token_id)


@blp.route("/me")
class Me(MethodView):
    @blp.response(200, MeSchema)
    @user_required
    def get(self) -> dict:
        """The caller's Mini Program openid, OA openid and unionid (nulls where unknown)"""
        return service.me(services().redis, current_user())
