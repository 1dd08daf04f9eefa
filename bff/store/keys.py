"""Every Redis key of the service, built here and nowhere else.

All keys start with ``bff:``. Keys that one operation touches together share a hash tag
(``{...}``) so the same code runs on Redis Cluster.

Credentials (per appid; one hash tag per appid; ``<kind>`` is ``access_token`` or
``ticket:wx_card`` / ``ticket:jsapi``):
- ``bff:{cred:<appid>}:<kind>`` hash ``{value, expires_at, refresh_at}`` (epoch seconds), the
  access_token or ticket; TTL expires_in - 300 s (at least 60 s).
- ``bff:{cred:<appid>}:lock:<kind>`` string, refresh lock holding a random owner token; TTL 10 s.
- ``bff:{cred:<appid>}:failure:<kind>`` string, JSON ``{errcode, errmsg, path, reason}`` of the
  last failed refresh, so waiting processes fail fast instead of each calling WeChat; TTL 3 s.
"""

from __future__ import annotations

PREFIX = "bff:"


def credential(appid: str, kind: str) -> str:
    """``kind`` is ``access_token`` or ``ticket:<type>``."""
    return f"{PREFIX}{{cred:{appid}}}:{kind}"


def credential_lock(appid: str, kind: str) -> str:
    return f"{PREFIX}{{cred:{appid}}}:lock:{kind}"


# Identity links (one hash tag for all, so the linking script is atomic on a cluster):
# - ``bff:{id}:<kind>:<value>`` hash {unionid, mp, oa, by}; kind = unionid | mp | oa; no TTL.
def identity(kind: str, value: str) -> str:
    return f"{PREFIX}{{id}}:{kind}:{value}"


# Card holdings (written by code decryption and by card events):
# - ``bff:holding:<code>`` hash {card_id, code, oa_openid, mp_openid, status, outer_str,
#   received_at, gift_from, old_code, updated_at}; no TTL.
# - ``bff:holdings:<oa|mp>:<openid>`` set of codes held by that openid; no TTL.
def holding(code: str) -> str:
    return f"{PREFIX}holding:{code}"


def holdings_of(kind: str, openid: str) -> str:
    return f"{PREFIX}holdings:{kind}:{openid}"


def credential_failure(appid: str, kind: str) -> str:
    return f"{PREFIX}{{cred:{appid}}}:failure:{kind}"


# Sessions (bff/sessions):
# - ``bff:session:<sha256(token)>`` hash {mp, oa, unionid, sk (session_key, AES-GCM sealed),
#   created_at, expires_at}; TTL settings.session_ttl. The token itself is never stored.
def session(token_id: str) -> str:
    return f"{PREFIX}session:{token_id}"
