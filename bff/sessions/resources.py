"""Session endpoints: log in from a Mini Program or an H5 page, log out, who am I."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from bff.extensions import services
from bff.openapi import UPSTREAM_FAILURES, documents
from bff.sessions import service
from bff.sessions.auth import current_user, user_required
from bff.sessions.schemas import LoginSchema, MeSchema, SessionSchema
from bff.sessions.store import revoke_session

blp = Blueprint("sessions", __name__, url_prefix="/v1", description="Sessions and identity")

_LOGIN_ERRORS = (
    (401, "40029: the code is invalid or expired"),
    (409, "40163: the code was already used"),
    (403, "40226: WeChat blocked the code"),
    (429, "45011: WeChat's per-minute quota; see Retry-After"),
)


def _document_login_errors(view):
    for status, description in _LOGIN_ERRORS:
        view = blp.alt_response(status, description=description)(view)
    return view


@blp.route("/sessions/miniprogram")
class MiniProgramSession(MethodView):
    @blp.arguments(LoginSchema())
    @blp.response(201, SessionSchema)
    @_document_login_errors
    @documents(UPSTREAM_FAILURES)
    def post(self, data: dict) -> dict:
        """Log in with a wx.login code (jscode2session)"""
        svc = services()
        token, out = service.login_miniprogram(svc.redis, svc.wechat, svc.settings, data["code"],
                                               now=svc.clock())
        return {"token": token, **out}


@blp.route("/sessions/h5")
class H5Session(MethodView):
    @blp.arguments(LoginSchema())
    @blp.response(201, SessionSchema)
    @_document_login_errors
    @documents(UPSTREAM_FAILURES)
    def post(self, data: dict) -> dict:
        """Log in with a web authorization code (Official Account openid)"""
        svc = services()
        token, out = service.login_h5(svc.redis, svc.wechat, svc.settings, data["code"],
                                      now=svc.clock())
        return {"token": token, **out}


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
