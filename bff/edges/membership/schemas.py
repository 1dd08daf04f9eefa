"""Request and response bodies of the membership and capabilities endpoints."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from bff.edges.http.fields import CHANNEL, WX_CARD_ID, OneCode, Pattern

CARD_ID = WX_CARD_ID


class PluginRequestSchema(Schema):
    card_id = fields.Str(required=True, validate=CARD_ID)
    outer_str = fields.Str(load_default=None, allow_none=True, validate=CHANNEL)


class PluginExtraDataSchema(Schema):
    encrypt_card_id = fields.Str(required=True)
    outer_str = fields.Str(required=True)
    biz = fields.Str(required=True)


class PluginSchema(Schema):
    appId = fields.Str(required=True, metadata={"description": "the plug-in's appId"})
    extraData = fields.Nested(
        PluginExtraDataSchema, required=True,
        metadata={"description": "pass to wx.navigateToMiniProgram as is"},
    )
    url = fields.Str(required=True, metadata={"description": "WeChat's activation URL"})


class ActivateRequestSchema(OneCode):
    activate_ticket = fields.Str(required=True, validate=validate.Length(min=1, max=512))
    card_id = fields.Str(required=True, validate=CARD_ID)


def _form_fields() -> fields.Dict:
    return fields.Dict(
        keys=fields.Str(), required=True,
        metadata={"description": "form fields by readable name (mobile, name, sex, birthday, "
                                 "id_card, email, location, education, industry, income, "
                                 "habit; custom fields by their own name)"},
    )


class ActivationSchema(Schema):
    card_id = fields.Str(required=True)
    code = fields.Str(required=True)
    membership_number = fields.Str(required=True)
    fields = _form_fields()


class MemberInfoSchema(Schema):
    card_id = fields.Str(required=True)
    code = fields.Str(required=True)
    membership_number = fields.Str(allow_none=True)
    bonus = fields.Int(required=True)
    balance = fields.Int(required=True)
    user_card_status = fields.Str(required=True)
    has_active = fields.Bool(required=True)
    fields = _form_fields()


class CapabilitiesQuerySchema(Schema):
    # printable ASCII, as a User-Agent header is: the worst request line stays within
    # gunicorn's limit (12 bytes per 4-byte character once percent-encoded would not)
    ua = fields.Str(load_default=None, validate=[validate.Length(max=1024), Pattern(
        r"^[\x20-\x7e]*$", error="printable ASCII, as a User-Agent is")],
                    metadata={"description": "a User-Agent to test instead of the request's"})


class CapabilitiesSchema(Schema):
    weixin_version = fields.Str(allow_none=True)
    cards = fields.Bool(required=True, metadata={"description": "WeChat >= 6.0.2"})
    activation_plugin = fields.Bool(
        required=True, metadata={"description": "iOS >= 6.5.9, Android >= 6.5.10"}
    )
    platform = fields.Str(required=True, metadata={"description": "ios, android or other"})
