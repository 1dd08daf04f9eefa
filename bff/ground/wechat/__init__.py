"""The only package that speaks to WeChat. No Flask here: the app wires it in ``create_app``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import redis as redislib
import requests

from bff.ground.wechat.api import WeChatApi
from bff.ground.wechat.client import WeChatClient
from bff.ground.wechat.credential_source import WeChatCredentialSource
from bff.ground.wechat.credentials import Credentials

if TYPE_CHECKING:
    from bff.ground.config import Settings

__all__ = ["build_wechat"]  # errors: bff.ground.wechat.errors; the API: bff.ground.wechat.api


def build_wechat(
    settings: Settings,
    redis: redislib.Redis,
    *,
    session: requests.Session | None = None,
    base_url: str | None = None,
) -> WeChatApi:
    """Client + credentials for the configured Official Account and Mini Program.

    ``session`` and ``base_url`` let sandbox mode route calls to the in-process sandbox.
    """
    base = base_url or settings.wechat_api_base
    common = dict(session=session, connect_timeout=settings.connect_timeout,
                  read_timeout=settings.read_timeout, max_retries=settings.max_retries)
    # Credential fetches go through their own client: it must never add a token it is fetching.
    transport = WeChatClient(base, **common)
    source = WeChatCredentialSource(transport, appid=settings.appid, secret=settings.secret,
                                    mode=settings.token_mode)
    credentials = Credentials(redis, source)
    # Share one connection pool between the two clients.
    client = WeChatClient(base, **{**common, "session": transport.session},
                          credentials=credentials)
    return WeChatApi(client, appid=settings.appid, secret=settings.secret,
                     miniprogram_appid=settings.miniprogram_appid,
                     miniprogram_secret=settings.miniprogram_secret)
