"""The shapes of WeChat's values (card_ids, openids, codes, encrypt_codes, login codes), as
regular expressions that Python and ECMA read alike (they go into the spec unchanged). One home:
the edge's fields (``bff.edges.http.fields``) and the domain read them from here."""

from __future__ import annotations

# Any card_id an operator may name (a sandbox or imported one included).
CARD_ID_PATTERN = r"^[A-Za-z0-9_\-]{1,64}$"
# An openid, unionid or Official Account openid.
OPENID_PATTERN = r"^[A-Za-z0-9_\-]{1,64}$"
# A card code names something only with a visible character in it: "   " is refused by the
# schema (422, as the spec says), not later as a 400. Linear to match; Python and ECMA agree.
CODE_PATTERN = r"^[^!-~]*[!-~][\s\S]*$"
MAX_CODE_LENGTH = 128
# A code as one path segment of an operator's URL: visible ASCII but "/".
PATH_CODE_PATTERN = r"^[\x21-\x2e\x30-\x7e]{1,128}$"
# What WeChat hands out, checked on the endpoints users reach before any call to WeChat with it
# (bff.edges.http.quota): a card_id is 28 characters ("p" and 27 of A-Za-z0-9_-); a wx.login or
# web authorization code 32 characters of A-Za-z0-9 (the sandbox's: 12 digits); an
# encrypt_code base64 (+, /, =), possibly still percent-encoded once (%2B) or with "+" read as
# a space.
WX_CARD_ID_PATTERN = r"^[A-Za-z0-9_\-]{28}$"
LOGIN_CODE_PATTERN = r"^[A-Za-z0-9_\-]{12,64}$"
ENCRYPT_CODE_PATTERN = r"^[A-Za-z0-9+/= %_\-]{16,512}$"
# visible ASCII after the host (a page's location.href is percent-encoded); no "\s": Python's
# and ECMA's whitespace classes differ (e.g. U+001C), and the two must agree
_PORT = r"(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4})"
HTTP_URL_PATTERN = (r"^[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9.\-]+(:" + _PORT
                    + r")?([/?#][!-~]*)?$")
# A broadcast's id (bff.domain.broadcasts): "b" and 20 hex digits, so
# /v1/admin/broadcasts/preview is never read as one.
BROADCAST_ID_PATTERN = r"^b[0-9a-f]{20}$"
