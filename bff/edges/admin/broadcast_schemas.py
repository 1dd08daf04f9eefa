"""Request and response schemas of card messages: broadcasts, previews, customer-service
messages (``bff.domain.broadcasts``)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from bff.edges.http.fields import CARD_ID, OPENID, Pattern, StrictBool, one_of_required

MIN_OPENIDS, MAX_OPENIDS = 2, 10_000  # WeChat's message/mass/send bounds
# A WeChat ID: 6-20 letters, digits, "_" and "-", starting with a letter.
WXNAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_\-]{5,19}$"
# WeChat's clientmsgid: at most 64 bytes; kept to characters that read the same everywhere.
CLIENT_MSG_ID_PATTERN = r"^[A-Za-z0-9._:\-]{1,64}$"
AUDIENCES = ("all", "tag", "openids")


class AudienceSchema(Schema):
    """Exactly one of: every follower, one tag, an openid list of 2-10,000."""

    class Meta:
        openapi = one_of_required("all", "tag_id", "openids")

    all = StrictBool(metadata={"enum": [True], "description": "every follower "
                                                              "(message/mass/sendall)"})
    tag_id = fields.Int(strict=True, validate=validate.Range(0, 2**31 - 1),
                        metadata={"description": "the followers with this tag "
                                                 "(message/mass/sendall)"})
    openids = fields.List(
        fields.Str(validate=OPENID), validate=validate.Length(MIN_OPENIDS, MAX_OPENIDS),
        metadata={"uniqueItems": True, "description": "2 to 10,000 followers' openids "
                                                      "(message/mass/send)"})

    @validates_schema
    def _one(self, data: dict[str, Any], **_: Any) -> None:
        given = [name for name in ("all", "tag_id", "openids") if name in data]
        if len(given) != 1:
            raise ValidationError("give exactly one of all, tag_id, openids")
        if data.get("all") is False:
            raise ValidationError(["must be true (or give tag_id or openids)"], "all")
        openids = data.get("openids") or []
        if len(set(openids)) != len(openids):
            raise ValidationError(["each openid at most once"], "openids")


class BroadcastRequestSchema(Schema):
    card_id = fields.Str(required=True, validate=CARD_ID)
    to = fields.Nested(AudienceSchema, required=True)
    client_msg_id = fields.Str(
        validate=Pattern(CLIENT_MSG_ID_PATTERN, error="1-64 of A-Za-z0-9 . _ : -"),
        metadata={"description": "the same send again (same card and audience) is answered "
                                 "with the first broadcast, replayed, and sends nothing; "
                                 "sent to WeChat as clientmsgid"})


class BroadcastSchema(Schema):
    broadcast_id = fields.Str(required=True)
    msg_id = fields.Str(allow_none=True, metadata={"description": "WeChat's msg_id"})
    card_id = fields.Str(required=True)
    audience = fields.Str(required=True, validate=validate.OneOf(AUDIENCES))
    tag_id = fields.Int(allow_none=True)
    openid_count = fields.Int(allow_none=True)
    client_msg_id = fields.Str(allow_none=True)
    created_at = fields.Int(required=True, metadata={"description": "epoch seconds"})
    status = fields.Str(required=True, validate=validate.OneOf(
        ("sending", "sent", "failed", "deleted")), metadata={
        "description": "sent / failed from the MASSSENDJOBFINISH push once it came, else "
                       "from message/mass/get"})
    wechat_status = fields.Str(allow_none=True, metadata={
        "description": "WeChat's word: the push's Status (sendsuccess, sendfail, err(...)) "
                       "or message/mass/get's msg_status"})
    total = fields.Int(allow_none=True, metadata={"description": "TotalCount: followers "
                                                                 "in the audience"})
    filtered = fields.Int(allow_none=True, metadata={"description": "FilterCount: left "
                                                                   "after WeChat's filters"})
    sent = fields.Int(allow_none=True, metadata={"description": "SentCount"})
    errors = fields.Int(allow_none=True, metadata={"description": "ErrorCount"})
    finished_at = fields.Int(allow_none=True, metadata={"description": "the push's "
                                                                       "CreateTime"})


class BroadcastSentSchema(BroadcastSchema):
    replayed = fields.Bool(required=True, metadata={
        "description": "true: this client_msg_id was sent before; this is that broadcast"})


class PreviewRequestSchema(Schema):
    class Meta:
        openapi = one_of_required("openid", "wxname")

    card_id = fields.Str(required=True, validate=CARD_ID)
    openid = fields.Str(validate=OPENID, metadata={"description": "a follower's openid"})
    wxname = fields.Str(validate=Pattern(WXNAME_PATTERN, error="not a WeChat ID"),
                        metadata={"description": "a follower's WeChat ID"})

    @validates_schema
    def _one(self, data: dict[str, Any], **_: Any) -> None:
        if ("openid" in data) == ("wxname" in data):
            raise ValidationError("give exactly one of openid, wxname")


class PreviewSchema(Schema):
    card_id = fields.Str(required=True)
    openid = fields.Str(allow_none=True)
    wxname = fields.Str(allow_none=True)
    msg_id = fields.Str(allow_none=True)


class CardMessageRequestSchema(Schema):
    openid = fields.Str(required=True, validate=OPENID)
    card_id = fields.Str(required=True, validate=CARD_ID)


class CardMessageSchema(Schema):
    openid = fields.Str(required=True)
    card_id = fields.Str(required=True)
    sent_at = fields.Int(required=True, metadata={"description": "epoch seconds"})
