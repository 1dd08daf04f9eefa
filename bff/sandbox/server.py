"""Running the sandbox on its own port: from the command line, or in a thread for tests."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping

import redis
from werkzeug.serving import WSGIRequestHandler, make_server

from bff.sandbox.app import create_sandbox_app
from bff.sandbox.core import SandboxConfig

log = logging.getLogger(__name__)

LOOPBACK = ("localhost", "127.0.0.1")  # the pages wx.config and web authorization accept


def config_from_env(environ: Mapping[str, str] | None = None) -> SandboxConfig:
    """``BFF_*`` variables, falling back to the sandbox's own accounts (``bff.vocabulary``)."""
    from bff import vocabulary as defaults

    env = os.environ if environ is None else environ
    return SandboxConfig(
        oa_appid=env.get("BFF_APPID") or defaults.SANDBOX_APPID,
        oa_secret=env.get("BFF_SECRET") or defaults.SANDBOX_SECRET,
        mp_appid=env.get("BFF_MINIPROGRAM_APPID") or defaults.SANDBOX_MP_APPID,
        mp_secret=env.get("BFF_MINIPROGRAM_SECRET") or defaults.SANDBOX_MP_SECRET,
        push_token=env.get("BFF_PUSH_TOKEN") or defaults.SANDBOX_PUSH_TOKEN,
        push_aes_key=env.get("BFF_PUSH_AES_KEY") or defaults.SANDBOX_PUSH_AES_KEY,
        event_url=env.get("BFF_SANDBOX_EVENT_URL") or None,
        web_hosts=tuple(h.lower() for h in words(env.get("BFF_JSSDK_HOSTS"))) or LOOPBACK,
    )


def words(value: str | None) -> tuple[str, ...]:
    return tuple(w.strip() for w in (value or "").split(",") if w.strip())


def redis_from_url(url: str | None) -> redis.Redis:
    """A client with ``decode_responses=True`` (a cluster client for ``redis+cluster://`` or
    ``rediss+cluster://``); no URL -> an in-process fakeredis. The sandbox's own connection:
    it shares no code with the service it checks."""
    if url:
        scheme, _, rest = url.partition("://")
        if scheme.lower().endswith("+cluster"):
            return redis.RedisCluster.from_url(f"{scheme[:-len('+cluster')]}://{rest}",
                                               decode_responses=True)
        return redis.Redis.from_url(url, decode_responses=True)
    import fakeredis

    log.warning("no BFF_SANDBOX_REDIS_URL or BFF_REDIS_URL: sandbox state lives in this "
                "process only (fakeredis)")
    return fakeredis.FakeRedis(decode_responses=True)


class _QuietHandler(WSGIRequestHandler):
    """No request log: WeChat-style query strings carry access tokens and secrets."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


def serve_in_thread(redis_url: str | None, config: SandboxConfig,
                    host: str = "127.0.0.1") -> tuple[str, Callable[[], None]]:
    """Serve the sandbox on a free port in a daemon thread; returns (base_url, shutdown)."""
    client = redis_from_url(redis_url)
    server = make_server(host, 0, create_sandbox_app(client, config), threaded=True,
                         request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="wx-sandbox", daemon=True)  # a quick shutdown
    thread.start()

    def shutdown() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        client.close()

    return f"http://{host}:{server.server_port}", shutdown
