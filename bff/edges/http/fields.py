"""One home for each input rule an edge checks: the validators and fields of card_ids,
openids, codes, encrypt_codes and channel tags, and the URL converters for path values. The
shapes themselves are WeChat's (``bff.ground.wechat.values``); a schema or route names the
rule (``CardId()``, ``<card_id:card_id>``), never a regular expression of its own.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from werkzeug.routing import BaseConverter

from bff.domain.ownership import MAX_CHANNEL_LENGTH
from bff.ground.wechat.values import (
    BROADCAST_ID_PATTERN,
    CARD_ID_PATTERN,
    CODE_PATTERN,
    ENCRYPT_CODE_PATTERN,
    MAX_CODE_LENGTH,
    OPENID_PATTERN,
    PATH_CODE_PATTERN,
    WX_CARD_ID_PATTERN,
)


def one_of_required(*names: str) -> dict[str, Any]:
    """``Meta.openapi`` for "exactly one of these fields"."""
    return {"oneOf": [{"required": [name]} for name in names]}


class Pattern(validate.Regexp):
    """``validate.Regexp`` that must match the whole value, as the spec's ``pattern`` says.

    ``re.match`` with ``$`` also accepts a value with one trailing newline, which the spec's
    (ECMA) pattern refuses: a request the spec calls invalid would be accepted.
    """

    def __call__(self, value: str) -> str:
        if self.regex.fullmatch(value) is None:
            raise ValidationError(self._format_error(value))
        return value




def code_field(*, max_length: int = MAX_CODE_LENGTH, **kwargs: Any) -> fields.Str:
    """The one definition of a card code a request gives (self-redemption, activation, counter
    query and redemption, member and code administration)."""
    return fields.Str(validate=[validate.Length(1, max_length),
                                Pattern(CODE_PATTERN, error="a code needs a visible character")],
                      **kwargs)


class CardIdConverter(BaseConverter):
    """``<card_id:card_id>`` in a route: a path that is no card_id is a 404 (no such resource)."""

    regex = CARD_ID_PATTERN.strip("^$")


class WxCardIdConverter(BaseConverter):
    """``<wx_card_id:card_id>``: a card_id as WeChat hands them out (users' routes)."""

    regex = WX_CARD_ID_PATTERN.strip("^$")




class BroadcastIdConverter(BaseConverter):
    """``<broadcast_id:...>`` in a route: anything else is a 404 (and ``preview`` a path)."""

    regex = BROADCAST_ID_PATTERN.strip("^$")


class StrictBool(fields.Boolean):
    """A JSON boolean only (``fields.Bool`` also takes 1, "yes" or "true": the spec does not)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


# Validators (a list of them where a field needs two); the field factories below use them.
CARD_ID = Pattern(CARD_ID_PATTERN, error="not a card_id")
# What users send before a WeChat call with it (bff.edges.http.quota): malformed is a 422, no
# call.
WX_CARD_ID = Pattern(WX_CARD_ID_PATTERN, error="not a card_id (28 characters A-Za-z0-9_-)")
ENCRYPT_CODE = Pattern(ENCRYPT_CODE_PATTERN, error="not an encrypt_code (base64, 16-512 "
                                                   "characters, percent-encoded at most once)")
OPENID = Pattern(OPENID_PATTERN, error="not an openid or unionid")
# A channel tag (outer_str as the front-end sends it): the service appends "~" and a proof.
CHANNEL = [validate.Length(max=MAX_CHANNEL_LENGTH),
           validate.Regexp(r"^[^~]*$", error="outer_str may not contain '~'")]


class OneCode(Schema):
    """A code sent as itself or as WeChat's ``encrypt_code``: exactly one of the two, and the
    spec says so. The schemas that take a code either way inherit the rule and the two fields
    (an operator's bounds them as its own)."""

    class Meta:
        openapi = one_of_required("code", "encrypt_code")

    code = code_field(max_length=64)
    encrypt_code = fields.Str(validate=ENCRYPT_CODE)

    @validates_schema
    def _one_code(self, data: dict[str, Any], **_: Any) -> None:
        if bool(data.get("code")) == bool(data.get("encrypt_code")):
            raise ValidationError("give exactly one of code and encrypt_code", "code")


def CardId(**kwargs: Any) -> fields.Str:  # noqa: N802 (a field, named like one)
    """A card_id an operator names (any of WeChat's, a sandbox's or an imported one)."""
    return fields.Str(validate=CARD_ID, **kwargs)


def WxCardId(**kwargs: Any) -> fields.Str:  # noqa: N802
    """A card_id as WeChat hands them out (28 characters): users' requests."""
    return fields.Str(validate=WX_CARD_ID, **kwargs)


def OpenId(**kwargs: Any) -> fields.Str:  # noqa: N802
    """An openid, unionid or Official Account openid."""
    return fields.Str(validate=OPENID, **kwargs)


def EncryptCode(**kwargs: Any) -> fields.Str:  # noqa: N802
    return fields.Str(validate=ENCRYPT_CODE, **kwargs)


def Code(*, max_length: int = MAX_CODE_LENGTH, **kwargs: Any) -> fields.Str:  # noqa: N802
    """A card code a request gives (self-redemption, activation, counter query and redemption,
    member and code administration)."""
    return code_field(max_length=max_length, **kwargs)


def Channel(**kwargs: Any) -> fields.Str:  # noqa: N802
    return fields.Str(validate=CHANNEL, **kwargs)


class OpenIdConverter(BaseConverter):
    """``<openid:...>`` in a route: a path that is no openid is a 404 (no user has it)."""

    regex = OPENID_PATTERN.strip("^$")


class PathCodeConverter(BaseConverter):
    """``<path_code:...>``: a card code as one path segment (visible ASCII but "/")."""

    regex = PATH_CODE_PATTERN.strip("^$")


# name in a route -> (converter, its schema in the spec)
CONVERTERS: dict[str, tuple[type[BaseConverter], dict[str, Any]]] = {
    "card_id": (CardIdConverter, {"type": "string", "pattern": CARD_ID_PATTERN,
                                  "minLength": 1, "maxLength": 64}),
    "wx_card_id": (WxCardIdConverter, {"type": "string", "pattern": WX_CARD_ID_PATTERN,
                                       "minLength": 28, "maxLength": 28}),
    "broadcast_id": (BroadcastIdConverter, {"type": "string", "pattern": BROADCAST_ID_PATTERN}),
    "openid": (OpenIdConverter, {"type": "string", "pattern": OPENID_PATTERN,
                                 "minLength": 1, "maxLength": 64}),
    "path_code": (PathCodeConverter, {"type": "string", "pattern": PATH_CODE_PATTERN,
                                      "minLength": 1, "maxLength": MAX_CODE_LENGTH}),
}


def register_converters(app: Any, api: Any) -> None:
    """Every converter in the app's routes and, with its pattern, in the spec."""
    for name, (converter, schema) in CONVERTERS.items():
        app.url_map.converters[name] = converter
        api.register_converter(converter, lambda _c, schema=schema: dict(schema))
