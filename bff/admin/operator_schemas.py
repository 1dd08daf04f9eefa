"""Request and answer shapes of the console session and the audit log."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from bff.operators import ROLES

STREAM_ID = r"^[0-9]{1,19}-[0-9]{1,19}$"


class SignInSchema(Schema):
    token = fields.Str(required=True, validate=validate.Length(1, 256),
                       metadata={"description": "an operator's token, or BFF_ADMIN_TOKEN"})


class OperatorSchema(Schema):
    name = fields.Str(required=True)
    role = fields.Str(required=True, validate=validate.OneOf(ROLES))


class ConsoleSessionSchema(Schema):
    operator = fields.Nested(OperatorSchema, required=True)
    csrf_token = fields.Str(required=True, metadata={
        "description": "send it as X-CSRF-Token with every request that changes state"})
    idle_timeout = fields.Int(required=True, metadata={
        "description": "seconds the session lives unused (BFF_CONSOLE_IDLE_SECONDS)"})


class AuditQuerySchema(Schema):
    limit = fields.Int(load_default=50, validate=validate.Range(1, 500))
    before = fields.Str(load_default=None, validate=validate.Regexp(
        STREAM_ID, error="not an entry id like 1700000000000-0"), metadata={
        "description": "the previous page's next_before: entries older than this one"})


class AuditEntrySchema(Schema):
    id = fields.Str(required=True, metadata={"description": "stream id; newer is larger"})
    at = fields.Float(required=True, metadata={"description": "epoch seconds"})
    operator = fields.Str(required=True, metadata={
        "description": "the operator's name; break-glass (BFF_ADMIN_TOKEN); cli (a command)"})
    role = fields.Str(required=True)
    via = fields.Str(required=True, metadata={"description": "bearer, session or cli"})
    action = fields.Str(required=True, metadata={
        "description": "the endpoint (blueprint.View), or the command (e.g. cards create)"})
    method = fields.Str(required=True, metadata={"description": "HTTP method, or CLI"})
    path = fields.Str(required=True, metadata={"description": "without the query string"})
    status = fields.Int(required=True, metadata={
        "description": "HTTP status; a command's exit code"})
    request_id = fields.Str(required=True, allow_none=True)


class AuditPageSchema(Schema):
    entries = fields.List(fields.Nested(AuditEntrySchema), required=True)
    next_before = fields.Str(required=True, allow_none=True, metadata={
        "description": "pass as before for older entries; null at the oldest"})
