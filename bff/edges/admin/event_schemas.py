"""Schemas of the event, channel-statistics and identity admin endpoints."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate

from bff.edges.http.fields import CARD_ID
from bff.edges.http.fields import OPENID as _OPENID

# "$" (kept for the OpenAPI pattern, which is ECMA syntax) also matches before a final "\n";
# _one_line refuses that, so Redis never sees a stream id it rejects (a 503 otherwise).


def _one_line(value: str) -> bool:
    if "\n" in value:
        raise ValidationError("must be one line")
    return True


_STREAM_ID = [validate.Regexp(r"^[0-9]{1,19}(-[0-9]{1,19})?$",
                              error="not a stream id like 1700000000000-0"), _one_line]


class EventsQuery(Schema):
    after = fields.Str(load_default=None, validate=_STREAM_ID,
                       metadata={"description": "Return events after this id (the last `next`)"})
    limit = fields.Int(load_default=100, validate=validate.Range(min=1, max=1000))


class EventSchema(Schema):
    id = fields.Str(required=True, metadata={"description": "Stream id; ordered"})
    event = fields.Str(required=True)
    card_id = fields.Str(allow_none=True)
    code = fields.Str(allow_none=True)
    openid = fields.Str(allow_none=True, metadata={"description": "Official Account openid"})
    create_time = fields.Int(allow_none=True, metadata={"description": "WeChat's CreateTime"})
    received_at = fields.Int(metadata={"description": "Epoch milliseconds when recorded"})
    mode = fields.Str(metadata={"description": "safe or plain"})
    fields_ = fields.Dict(data_key="fields", attribute="fields", keys=fields.Str(),
                          values=fields.Str(), metadata={"description": "All XML fields"})


class EventsPage(Schema):
    events = fields.List(fields.Nested(EventSchema), required=True)
    next = fields.Str(allow_none=True, metadata={"description": "Pass as `after` next time"})


class ChannelQuery(Schema):
    card_id = fields.Str(load_default=None, validate=CARD_ID)
    from_ = fields.Date(data_key="from", load_default=None,
                        metadata={"description": "First day (Asia/Shanghai); default to - 29 days"})
    to = fields.Date(load_default=None,
                     metadata={"description": "Last day (Asia/Shanghai), inclusive; default today"})


class ChannelRow(Schema):
    date = fields.Str(required=True)
    card_id = fields.Str(required=True)
    outer_str = fields.Str(required=True, metadata={"description": "'' when none was given"})
    received = fields.Int(required=True)
    consumed = fields.Int(required=True)
    deleted = fields.Int(required=True)
    gifted = fields.Int(required=True)
    opened = fields.Int(required=True, metadata={
        "description": "holders who opened the card's link carrying this outer_str (member "
                       "cards: decrypt with the link's outer_str), once per code and day"})


class ChannelStats(Schema):
    rows = fields.List(fields.Nested(ChannelRow), required=True)
    next_from = fields.Date(allow_none=True, metadata={
        "description": "the range was longer than 366 days: pass this as from for the rest"})


class IdentityQuery(Schema):
    """The ids to look for; an identity matches when it has every id given."""

    unionid = fields.Str(load_default=None, validate=_OPENID)
    mp_openid = fields.Str(load_default=None, validate=_OPENID)
    oa_openid = fields.Str(load_default=None, validate=_OPENID)


class UnlinkQuery(Schema):
    mp_openid = fields.Str(load_default=None, validate=validate.Length(min=1, max=128))
    oa_openid = fields.Str(load_default=None, validate=validate.Length(min=1, max=128))


class IdentitySchema(Schema):
    unionid = fields.Str(allow_none=True)
    miniprogram_openid = fields.Str(allow_none=True)
    official_account_openid = fields.Str(allow_none=True)
    linked_by = fields.Str(allow_none=True)
