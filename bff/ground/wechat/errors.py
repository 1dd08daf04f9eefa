"""WeChat errcodes and the exception hierarchy every WeChat failure is turned into.

Messages carry the API path, errcode and errmsg only: never a URL with its query string, so no
access_token, secret or session_key can leak into a log line or an error response.
"""

from __future__ import annotations

from enum import IntEnum

# errcode used for failures where WeChat gave no answer (timeouts, 5xx, garbage bodies).
TRANSPORT_ERRCODE = -2


class ErrCode(IntEnum):
    """The errcodes the service reacts to (WeChat's global return codes:
    https://developers.weixin.qq.com/doc/offiaccount/Getting_Started/Global_Return_Code.html)."""

    BUSY = -1
    OK = 0
    INVALID_CREDENTIAL = 40001
    INVALID_OPENID = 40003
    INVALID_APPID = 40013
    INVALID_ACCESS_TOKEN = 40014
    INVALID_CODE = 40029
    INVALID_TAG = 40050
    INVALID_SERIAL_CODE = 40056
    INVALID_ENCODING = 40072
    INVALID_CARD_ID = 40073
    INVALID_CARD_STATUS = 40078
    INVALID_TIME = 40079
    BAD_CARD_EXT = 40080
    BAD_TICKET_TYPE = 40097
    CODE_CONSUMED = 40099
    TOO_MANY_CODES = 40109
    INVALID_APPSECRET = 40125
    CARD_DELETED_OR_GIFTING = 40127
    OPENID_LIST_SIZE = 40130
    INVALID_WXNAME = 40132
    CODE_BEEN_USED = 40163
    IP_NOT_WHITELISTED = 40164
    CODE_BLOCKED = 40226
    APPSECRET_FROZEN = 40243
    ACCESS_TOKEN_MISSING = 41001
    ACCESS_TOKEN_EXPIRED = 42001
    DAILY_QUOTA = 45009
    MINUTE_QUOTA = 45011
    NO_API_PERMISSION = 45030
    STOCK_EMPTY = 45031
    OVER_GET_LIMIT = 45033
    CLIENT_MSG_ID_EXISTS = 45065
    DATA_FORMAT_ERROR = 47001
    API_UNAUTHORIZED = 48001
    IP_NOT_WHITELISTED_2 = 61004
    ACTIVATE_TICKET_EXPIRED = 72012


TOKEN_INVALID_CODES = frozenset(
    {ErrCode.INVALID_CREDENTIAL, ErrCode.INVALID_ACCESS_TOKEN, ErrCode.ACCESS_TOKEN_EXPIRED}
)
QUOTA_CODES = frozenset({ErrCode.DAILY_QUOTA, ErrCode.MINUTE_QUOTA})


class WeChatError(Exception):
    """Root of every failure talking to WeChat."""

    def __init__(self, errcode: int, errmsg: str, path: str) -> None:
        self.errcode = errcode
        self.errmsg = errmsg
        self.path = path
        super().__init__(f"{path}: errcode {errcode}: {errmsg}")


class WeChatApiError(WeChatError):
    """WeChat answered with a non-zero errcode; ``answer`` holds the answer's other fields
    (45065 names the existing broadcast's ``msg_id``), never logged."""

    def __init__(self, errcode: int, errmsg: str, path: str, answer: dict | None = None) -> None:
        super().__init__(errcode, errmsg, path)
        self.answer = dict(answer or {})


class TokenInvalid(WeChatApiError):
    """40001 / 40014 / 42001: the access_token (or the one a ticket came from) was rejected."""


class QuotaExceeded(WeChatApiError):
    """45009 / 45011: the daily or per-minute call quota is used up; retrying makes it worse."""


class Busy(WeChatApiError):
    """-1: WeChat is busy; already retried a bounded number of times."""


class WeChatUnavailable(WeChatError):
    """No usable answer: timeout, connection failure, HTTP error status or a non-JSON body."""

    REASONS = frozenset({"timeout", "connection", "http_status", "bad_response"})

    def __init__(
        self, reason: str, path: str, http_status: int | None = None, *, request_sent: bool = True
    ) -> None:
        if reason not in self.REASONS:
            raise ValueError(f"unknown reason {reason!r}")
        self.reason = reason
        self.http_status = http_status
        # False when the connection never opened: safe to retry even a non-idempotent call.
        self.request_sent = request_sent
        detail = f"{reason} (HTTP {http_status})" if http_status is not None else reason
        super().__init__(TRANSPORT_ERRCODE, f"WeChat unavailable: {detail}", path)


def error_for(errcode: int, errmsg: str, path: str,
              answer: dict | None = None) -> WeChatApiError:
    """The exception for a non-zero errcode (``answer``: the rest of WeChat's answer)."""
    if errcode in TOKEN_INVALID_CODES:
        cls: type[WeChatApiError] = TokenInvalid
    elif errcode in QUOTA_CODES:
        cls = QuotaExceeded
    elif errcode == ErrCode.BUSY:
        cls = Busy
    else:
        cls = WeChatApiError
    return cls(errcode, _scrub(errmsg), path, answer)


def _scrub(errmsg: str) -> str:
    # WeChat appends "rid: ..." and sometimes "hint: [...]"; those are harmless, but an errmsg
    # must never be long enough to smuggle request data into logs.
    return str(errmsg)[:200]
