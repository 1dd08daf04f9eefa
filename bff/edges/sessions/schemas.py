"""Request and response bodies of the session endpoints."""

from __future__ import annotations

from marshmallow import Schema, fields

from bff.edges.http.fields import Pattern
from bff.ground.wechat.values import LOGIN_CODE_PATTERN


class LoginSchema(Schema):
    # malformed is a 422 before any call to WeChat (bff.edges.http.quota)
    code = fields.Str(required=True, validate=Pattern(LOGIN_CODE_PATTERN,
                                                      error="not a login code"),
                      metadata={"description": "wx.login code (Mini Program) or the web "
                                               "authorization code (H5)"})


class SessionSchema(Schema):
    token = fields.Str(required=True, metadata={"description": "send as Authorization: Bearer"})
    expires_in = fields.Int(required=True, metadata={"description": "seconds"})
    openid = fields.Str(required=True)


class MeSchema(Schema):
    miniprogram_openid = fields.Str(allow_none=True)
    official_account_openid = fields.Str(allow_none=True)
    unionid = fields.Str(allow_none=True)
    linked_by = fields.Str(allow_none=True)
