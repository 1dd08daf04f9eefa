"""The ``Idempotency-Key`` request header: a caller's name for one operation, so a retry of it
(a timeout, a double click, at-least-once delivery) gets the first answer instead of a second
side effect. Visible ASCII, 1-64 characters; the service stores only a digest of it."""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

HEADER = "Idempotency-Key"
MAX_LENGTH = 64
_FORMAT = validate.Regexp(r"^[\x21-\x7e]{1,64}$",
                          error=f"1-{MAX_LENGTH} visible ASCII characters (no spaces)")


class IdempotencyKeySchema(Schema):
    """Optional key: without it every request is a new attempt."""

    class Meta:
        unknown = EXCLUDE

    key = fields.Str(data_key=HEADER, validate=_FORMAT, load_default=None, metadata={
        "description": "names this operation; a retry with the same key gets the first answer"})


class RequiredIdempotencyKeySchema(Schema):
    """Required key."""

    class Meta:
        unknown = EXCLUDE

    key = fields.Str(data_key=HEADER, required=True, validate=_FORMAT, metadata={
        "description": "names this change; a retry with the same key gets the first answer"})
