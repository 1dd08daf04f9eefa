"""Where credentials come from: the token and ticket endpoints of WeChat, called without a token."""

from __future__ import annotations

from bff.ground.wechat.client import WeChatClient
from bff.ground.wechat.errors import WeChatUnavailable

STABLE_TOKEN_PATH = "/cgi-bin/stable_token"
CLASSIC_TOKEN_PATH = "/cgi-bin/token"
TICKET_PATH = "/cgi-bin/ticket/getticket"


class WeChatCredentialSource:
    """Fetches from WeChat through a client that has no credentials of its own.

    The only source (a test passes a counting fake with the same attributes): no protocol
    class stands beside it."""

    def __init__(
        self, transport: WeChatClient, *, appid: str, secret: str, mode: str = "stable"
    ) -> None:
        if mode not in ("stable", "classic"):
            raise ValueError("mode must be 'stable' or 'classic'")
        self.transport = transport
        self.appid = appid
        self._secret = secret
        self.mode = mode
        # True when fetching again returns the same token (stable_token) instead of
        # invalidating the one other instances hold (classic /cgi-bin/token).
        self.refetch_is_harmless = mode == "stable"

    def fetch_access_token(self) -> tuple[str, int]:
        if self.mode == "stable":
            body = {"grant_type": "client_credential", "appid": self.appid,
                    "secret": self._secret, "force_refresh": False}
            data = self.transport.request("POST", STABLE_TOKEN_PATH, json=body, token=False)
        else:
            params = {"grant_type": "client_credential", "appid": self.appid,
                      "secret": self._secret}
            data = self.transport.request("GET", CLASSIC_TOKEN_PATH, params=params, token=False)
        return _pick(data, "access_token", self.path_for("access_token"))

    def fetch_ticket(self, ticket_type: str, access_token: str) -> tuple[str, int]:
        params = {"access_token": access_token, "type": ticket_type}
        data = self.transport.request("GET", TICKET_PATH, params=params, token=False)
        return _pick(data, "ticket", TICKET_PATH)

    def path_for(self, kind: str) -> str:
        if kind == "access_token":
            return STABLE_TOKEN_PATH if self.mode == "stable" else CLASSIC_TOKEN_PATH
        return TICKET_PATH

    def __repr__(self) -> str:  # never show the secret
        return f"WeChatCredentialSource(appid={self.appid!r}, mode={self.mode!r})"


def _pick(data: dict, field: str, path: str) -> tuple[str, int]:
    try:
        value, expires_in = str(data[field]), int(data.get("expires_in", 7200))
    except (KeyError, TypeError, ValueError):
        raise WeChatUnavailable("bad_response", path, http_status=200) from None
    if not value:
        raise WeChatUnavailable("bad_response", path, http_status=200)
    return value, expires_in
