"""Every setting of the service, read once from ``BFF_*`` environment variables, typed and checked.

The README has one table of all variables; keep it in step with ``FIELDS`` below.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

DEFAULT_WECHAT_BASE = "https://api.weixin.qq.com"
# Sandbox mode: the mounted sandbox and the service, as each reaches the other in-process.
SANDBOX_INTERNAL_BASE = "http://sandbox.internal"
SERVICE_INTERNAL_BASE = "http://bff.internal"

# Defaults the sandbox accepts (its accounts: bff.vocabulary); never used outside sandbox mode.
from bff.vocabulary import (  # noqa: E402
    SANDBOX_APPID,
    SANDBOX_MP_APPID,
    SANDBOX_MP_SECRET,
    SANDBOX_PUSH_AES_KEY,
    SANDBOX_PUSH_TOKEN,
    SANDBOX_SECRET,
)

SANDBOX_DATA_KEY = base64.b64encode(b"sandbox-data-key-32-bytes-long!!").decode()
SANDBOX_ADMIN_TOKEN = "sandbox-admin-token"


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    appid: str = ""
    secret: str = field(default="", repr=False)
    miniprogram_appid: str = ""
    miniprogram_secret: str = field(default="", repr=False)
    push_token: str = field(default="", repr=False)
    push_aes_key: str = field(default="", repr=False)
    push_aes_key_previous: str = field(default="", repr=False)
    redis_url: str = field(default="", repr=False)
    admin_token: str = field(default="", repr=False)
    metrics_token: str = field(default="", repr=False)  # bearer of /metrics; "" = no /metrics
    sandbox: bool = False
    wechat_api_base: str = "https://api.weixin.qq.com"
    token_mode: str = "stable"  # "stable" (/cgi-bin/stable_token) or "classic" (/cgi-bin/token)
    connect_timeout: float = 3.05
    read_timeout: float = 5.0
    max_retries: int = 2
    data_key: str = field(default="", repr=False)
    data_key_previous: str = field(default="", repr=False)  # still opens blobs during rotation
    jssdk_hosts: tuple[str, ...] = ()
    cors_origins: tuple[str, ...] = ()
    session_ttl: int = 7 * 24 * 3600
    # per-process session cache, invalidated by Redis (tracking): on by default since issue 18,
    # where it took ~120 us of CPU off each authenticated request (bench/RESULTS.md)
    session_cache: bool = True
    push_max_skew: int = 300
    # "safe" (AES bodies only), "compat" (AES or plain) or "plain"; "" = safe with an AES key
    push_mode: str = ""
    max_body_bytes: int = 64 * 1024
    event_retention_days: int = 30
    log_level: str = "INFO"
    log_format: str = "text"  # "text" or "json" (one JSON object per line)

    # events (bff.edges.events): dedup window, worker batch/block/reclaim/attempts
    event_dedup_ttl: int = 3 * 24 * 3600
    worker_batch_size: int = 50
    worker_block_ms: int = 1000
    worker_claim_idle: int = 60
    worker_max_attempts: int = 5

    # quota guard (bff.edges.http.quota): limits of the endpoints that call WeChat on a caller's
    # values,
    # in the ``limits`` library's notation ("30/minute;300/hour"); "" turns one off
    limit_address: str = "6000/minute"
    limit_address_failures: str = "30/minute;300/hour"
    limit_user: str = "60/minute;1000/day"
    limit_user_failures: str = "10/minute;60/hour"
    trusted_proxies: int = 0  # X-Forwarded-For hops to trust for the client address
    console_idle_seconds: int = 1800  # a console session ends after this long unused

    @property
    def effective_push_mode(self) -> str:
        return self.push_mode or ("safe" if self.push_aes_key else "plain")

    # Decoded once per Settings (frozen: the keys never change under it); add-card and every
    # decrypt ask for them (functools.cached_property writes the instance's __dict__, which a
    # frozen dataclass allows, and dataclasses.replace makes a new instance, decoded anew).
    @functools.cached_property
    def data_key_bytes(self) -> bytes:
        return base64.b64decode(self.data_key)

    @functools.cached_property
    def data_keys(self) -> tuple[bytes, ...]:
        """The keys that open sealed data: the current one first, then the previous one."""
        previous = base64.b64decode(self.data_key_previous) if self.data_key_previous else b""
        return (self.data_key_bytes, previous) if previous else (self.data_key_bytes,)


# variable suffix -> (field, parser)
def _bool(v: str) -> bool:
    s = v.strip().lower()
    if s in ("1", "true", "yes", "on"):
        return True
    if s in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("expected 1/0, true/false, yes/no or on/off")


def _hosts(v: str) -> tuple[str, ...]:
    return tuple(h.strip().lower() for h in v.split(",") if h.strip())


DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(value: str) -> str:
    """One exact web origin, ``scheme://host[:port]``, as a browser sends it in ``Origin``."""
    if "*" in value:
        raise ValueError(f"{value!r}: wildcards are not allowed, list each origin")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise ValueError(f"{value!r} is not an origin (scheme://host[:port])") from None
    if (parts.scheme not in DEFAULT_PORTS or not parts.hostname or parts.username is not None
            or parts.password is not None or parts.path not in ("", "/") or parts.query
            or parts.fragment or value.endswith("?") or value.endswith("#")):
        raise ValueError(f"{value!r} is not an origin (scheme://host[:port], no path)")
    host = parts.hostname
    if ":" in host:
        host = f"[{host}]"  # IPv6
    if port is None or port == DEFAULT_PORTS[parts.scheme]:
        return f"{parts.scheme}://{host}"  # browsers omit the default port
    return f"{parts.scheme}://{host}:{port}"


def _origins(v: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(_origin(o.strip()) for o in v.split(",") if o.strip()))


FIELDS: dict[str, tuple[str, Any]] = {
    "BFF_APPID": ("appid", str),
    "BFF_SECRET": ("secret", str),
    "BFF_MINIPROGRAM_APPID": ("miniprogram_appid", str),
    "BFF_MINIPROGRAM_SECRET": ("miniprogram_secret", str),
    "BFF_PUSH_TOKEN": ("push_token", str),
    "BFF_PUSH_AES_KEY": ("push_aes_key", str),
    "BFF_PUSH_AES_KEY_PREVIOUS": ("push_aes_key_previous", str),
    "BFF_REDIS_URL": ("redis_url", str),
    "BFF_ADMIN_TOKEN": ("admin_token", str),
    "BFF_METRICS_TOKEN": ("metrics_token", str),
    "BFF_SANDBOX": ("sandbox", _bool),
    "BFF_WECHAT_API_BASE": ("wechat_api_base", str),
    "BFF_TOKEN_MODE": ("token_mode", str),
    "BFF_CONNECT_TIMEOUT": ("connect_timeout", float),
    "BFF_READ_TIMEOUT": ("read_timeout", float),
    "BFF_MAX_RETRIES": ("max_retries", int),
    "BFF_DATA_KEY": ("data_key", str),
    "BFF_DATA_KEY_PREVIOUS": ("data_key_previous", str),
    "BFF_JSSDK_HOSTS": ("jssdk_hosts", _hosts),
    "BFF_CORS_ORIGINS": ("cors_origins", _origins),
    "BFF_SESSION_TTL": ("session_ttl", int),
    "BFF_SESSION_CACHE": ("session_cache", _bool),
    "BFF_PUSH_MAX_SKEW": ("push_max_skew", int),
    "BFF_PUSH_MODE": ("push_mode", lambda v: v.strip().lower()),
    "BFF_MAX_BODY_BYTES": ("max_body_bytes", int),
    "BFF_EVENT_RETENTION_DAYS": ("event_retention_days", int),
    "BFF_LOG_LEVEL": ("log_level", str),
    "BFF_LOG_FORMAT": ("log_format", lambda v: v.strip().lower()),
    "BFF_EVENT_DEDUP_TTL": ("event_dedup_ttl", int),
    "BFF_WORKER_BATCH_SIZE": ("worker_batch_size", int),
    "BFF_WORKER_BLOCK_MS": ("worker_block_ms", int),
    "BFF_WORKER_CLAIM_IDLE": ("worker_claim_idle", int),
    "BFF_WORKER_MAX_ATTEMPTS": ("worker_max_attempts", int),
    "BFF_LIMIT_ADDRESS": ("limit_address", str),
    "BFF_LIMIT_ADDRESS_FAILURES": ("limit_address_failures", str),
    "BFF_LIMIT_USER": ("limit_user", str),
    "BFF_LIMIT_USER_FAILURES": ("limit_user_failures", str),
    "BFF_TRUSTED_PROXIES": ("trusted_proxies", int),
    "BFF_CONSOLE_IDLE_SECONDS": ("console_idle_seconds", int),
}
_VAR_OF = {f: var for var, (f, _) in FIELDS.items()}
REQUIRED = (
    "appid", "secret", "miniprogram_appid", "miniprogram_secret",
    "push_token", "push_aes_key", "redis_url", "admin_token", "data_key",
)
SANDBOX_DEFAULTS = {
    "appid": SANDBOX_APPID,
    "secret": SANDBOX_SECRET,
    "miniprogram_appid": SANDBOX_MP_APPID,
    "miniprogram_secret": SANDBOX_MP_SECRET,
    "push_token": SANDBOX_PUSH_TOKEN,
    "push_aes_key": SANDBOX_PUSH_AES_KEY,
    "admin_token": SANDBOX_ADMIN_TOKEN,
    "data_key": SANDBOX_DATA_KEY,
    "jssdk_hosts": ("localhost", "127.0.0.1"),
}


def load_settings(
    environ: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None
) -> Settings:
    """Build settings: defaults, then ``BFF_*`` variables, then ``overrides`` (by field name)."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for var, (name, parse) in FIELDS.items():
        raw = environ.get(var)
        if raw is None:
            continue
        try:
            values[name] = parse(raw)
        except ValueError as e:
            raise ConfigError(f"{var} is invalid: {e}") from None
    names = {f.name for f in dataclasses.fields(Settings)}
    for key, value in (overrides or {}).items():
        if key not in names:
            raise ConfigError(f"unknown setting {key!r}")
        values[key] = value
    if values.get("sandbox"):
        for key, value in SANDBOX_DEFAULTS.items():
            if not values.get(key):
                values[key] = value
    settings = Settings(**values)
    _validate(settings)
    return settings


def _validate(s: Settings) -> None:
    missing = [
        _VAR_OF[name]
        for name in REQUIRED
        if not getattr(s, name) and not (name == "redis_url" and s.sandbox)
    ]
    if missing:
        raise ConfigError("missing required setting(s): " + ", ".join(missing))
    if s.push_mode not in ("", "safe", "compat", "plain"):
        raise ConfigError("BFF_PUSH_MODE must be 'safe', 'compat' or 'plain'")
    if s.effective_push_mode != "plain" and not s.push_aes_key:
        raise ConfigError("BFF_PUSH_MODE=safe or compat needs BFF_PUSH_AES_KEY")
    if s.log_format not in ("text", "json"):
        raise ConfigError("BFF_LOG_FORMAT must be 'text' or 'json'")
    _validate_secrets(s)
    if s.token_mode not in ("stable", "classic"):
        raise ConfigError("BFF_TOKEN_MODE must be 'stable' or 'classic'")
    for name in ("push_aes_key", "push_aes_key_previous"):
        key = getattr(s, name)
        if key and (len(key) != 43 or len(_b64(key + "=", _VAR_OF[name])) != 32):
            raise ConfigError(f"{_VAR_OF[name]} must be a 43-character EncodingAESKey")
    if len(_b64(s.data_key, "BFF_DATA_KEY")) != 32:
        raise ConfigError("BFF_DATA_KEY must be 32 bytes, base64-encoded")
    if s.data_key_previous and len(_b64(s.data_key_previous, "BFF_DATA_KEY_PREVIOUS")) != 32:
        raise ConfigError("BFF_DATA_KEY_PREVIOUS must be 32 bytes, base64-encoded")
    if s.redis_url and not s.redis_url.startswith(
            ("redis://", "rediss://", "unix://", "redis+cluster://", "rediss+cluster://")):
        raise ConfigError("BFF_REDIS_URL must start with redis://, rediss://, unix:// "
                          "or (a Redis Cluster) redis+cluster://, rediss+cluster://")
    if not s.wechat_api_base.startswith(("http://", "https://")):
        raise ConfigError("BFF_WECHAT_API_BASE must be an http(s) URL")
    for origin in s.cors_origins:  # overrides bypass the parser: check them the same way
        try:
            if _origin(origin) != origin:
                raise ValueError(f"{origin!r}: write it as {_origin(origin)!r}")
        except ValueError as e:
            raise ConfigError(f"BFF_CORS_ORIGINS is invalid: {e}") from None
    _validate_ranges(s)


# field -> (smallest, largest allowed value, unit): every number setting, finite and in range
# (the README's configuration table states each range). A 0 TTL made every push a 503 (the dedup
# key expired at once), a 0 body limit made every request a 413; a NaN or infinite timeout made
# every upstream call a 500, a TTL past what Redis takes made every login or push a 503.
RANGES: dict[str, tuple[float, float, str]] = {
    "connect_timeout": (0.1, 60, "seconds"),
    "read_timeout": (0.1, 300, "seconds"),
    "max_retries": (0, 5, "retries"),
    "session_ttl": (1, 365 * 86400, "seconds (365 days)"),
    "push_max_skew": (1, 3600, "seconds"),
    "max_body_bytes": (1024, 16 * 1024 * 1024, "bytes (1 KiB to 16 MiB)"),
    "event_retention_days": (1, 3650, "days"),
    "event_dedup_ttl": (1, 30 * 86400, "seconds (30 days)"),
    "worker_batch_size": (1, 1000, "events"),
    "worker_block_ms": (1, 60_000, "milliseconds"),
    "worker_claim_idle": (1, 86400, "seconds"),
    "worker_max_attempts": (1, 100, "attempts"),
    "trusted_proxies": (0, 5, "proxies"),
    "console_idle_seconds": (1, 86400, "seconds (1 day)"),
}
MIN_ADMIN_TOKEN = 32  # characters, outside sandbox mode: a guessable operator token opens all
LIMIT_FIELDS = ("limit_address", "limit_address_failures", "limit_user", "limit_user_failures")


def parse_limits(value: str) -> list[Any]:
    """``"30/minute;300/hour"`` as ``limits`` items ([] for ""); ValueError when malformed."""
    from limits import parse_many

    if not value.strip():
        return []
    try:
        items = parse_many(value)
    except ValueError:
        raise ValueError(f"{value!r}: write limits as N/second|minute|hour|day, separated by "
                         "';' (e.g. 30/minute;300/hour)") from None
    if any(item.amount < 1 for item in items):
        raise ValueError(f"{value!r}: each limit allows at least 1")
    return items


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _validate_ranges(s: Settings) -> None:
    for name, (low, high, unit) in RANGES.items():
        value = getattr(s, name)
        if (isinstance(value, bool) or not isinstance(value, (int, float))
                or not math.isfinite(value) or not low <= value <= high):
            raise ConfigError(f"{_VAR_OF[name]} must be a finite number from {low:g} to "
                              f"{high:g} {unit}, got {value!r}")
    for name in LIMIT_FIELDS:
        try:
            parse_limits(getattr(s, name))
        except ValueError as e:
            raise ConfigError(f"{_VAR_OF[name]} is invalid: {e}") from None
    if s.log_level.upper() not in LOG_LEVELS:
        raise ConfigError(f"BFF_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}")


def _validate_secrets(s: Settings) -> None:
    """A secret pasted with a space or newline around it never matches; say so at start."""
    for f in dataclasses.fields(Settings):
        value = getattr(s, f.name)
        if not f.repr and isinstance(value, str) and value != value.strip():
            raise ConfigError(f"{_VAR_OF[f.name]} has whitespace around it; remove it")
    if not s.sandbox and len(s.admin_token) < MIN_ADMIN_TOKEN:
        raise ConfigError(f"BFF_ADMIN_TOKEN must be at least {MIN_ADMIN_TOKEN} characters "
                          "outside sandbox mode (e.g. python3 -c 'import secrets; "
                          "print(secrets.token_urlsafe(32))')")


def _b64(value: str, var: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except ValueError:
        raise ConfigError(f"{var} is not valid base64") from None
