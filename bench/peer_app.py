"""The peer of bench/signing.py: add-card as a merchant would hand-write it with wechatpy.

Flask and wechatpy, nothing of this service: JSON in (``{"cards": [{"card_id", "outer_str"}]}``),
the ``wx_card`` api_ticket from wechatpy's own cache (``WeChatClient`` with a ``RedisStorage``
session on the same Redis as the service: ``client.jsapi.get_jsapi_card_ticket()`` reads the
ticket and its expiry there, and would fetch a new one from WeChat when it is missing or
expired), each cardExt signed with wechatpy's ``WeChatSigner`` (SHA-1 over the sorted values,
the same values as the service signs: ticket, timestamp, card_id, code, openid, nonce_str) and a
``wechatpy.utils.random_string`` nonce, JSON out. It does not authenticate the caller (a peer
that did would add a session read), check the card, or bind the card to the user.

``PEER_TICKET=memory``: wechatpy's default ``MemoryStorage`` instead (the ticket in each
worker's memory, as a peer that runs one instance might keep it): a worker copies the seeded
ticket from Redis once, on its first request, as it would fetch it from WeChat once.
``PEER_TICKET=constant``: the leanest peer, which looks nothing up: the ticket is a module
global, copied from Redis on a worker's first request and used as a constant afterwards (as a
peer with the ticket pasted into its code, the independent benchmark's of issue 18).

``BFF_REDIS_URL``: the Redis; ``PEER_APPID`` / ``PEER_SECRET`` (default: the sandbox's). The
benchmark copies the service's ticket into wechatpy's cache before it starts (the peer then
never calls WeChat), and has the sandbox accept what the peer signs.
"""

from __future__ import annotations

import json
import os
import time

import redis
from flask import Flask, jsonify, request
from wechatpy import WeChatClient
from wechatpy.session.memorystorage import MemoryStorage
from wechatpy.session.redisstorage import RedisStorage
from wechatpy.utils import WeChatSigner, random_string

from bff.ground.config import SANDBOX_APPID, SANDBOX_SECRET

PREFIX = "peer"  # wechatpy's keys: peer:<appid>_jsapi_card_ticket(_expires_at)
APPID = os.environ.get("PEER_APPID", SANDBOX_APPID)

_redis = redis.Redis.from_url(os.environ.get("BFF_REDIS_URL", "redis://127.0.0.1:6379/0"))
IN_MEMORY = os.environ.get("PEER_TICKET") == "memory"
CONSTANT = os.environ.get("PEER_TICKET") == "constant"
_ticket: str | None = None  # PEER_TICKET=constant
client = WeChatClient(APPID, os.environ.get("PEER_SECRET", SANDBOX_SECRET),
                      session=MemoryStorage() if IN_MEMORY else RedisStorage(_redis, prefix=PREFIX))
app = Flask(__name__)


def seed_ticket(r: redis.Redis, ticket: str, expires_at: int) -> None:
    """Put ``ticket`` in wechatpy's cache as ``get_jsapi_card_ticket`` stores it."""
    storage = RedisStorage(r, prefix=PREFIX)
    storage.set(f"{APPID}_jsapi_card_ticket", ticket)
    storage.set(f"{APPID}_jsapi_card_ticket_expires_at", expires_at)


@app.get("/healthz")
def healthz():
    return jsonify({"status": "ok"})


@app.post("/v1/cards/add-card")
def add_card():
    body = request.get_json()
    if IN_MEMORY and client.session.get(f"{APPID}_jsapi_card_ticket") is None:
        seeded = RedisStorage(_redis, prefix=PREFIX)
        for name in (f"{APPID}_jsapi_card_ticket", f"{APPID}_jsapi_card_ticket_expires_at"):
            client.session.set(name, seeded.get(name))
    if CONSTANT:
        global _ticket
        if _ticket is None:
            _ticket = RedisStorage(_redis, prefix=PREFIX).get(f"{APPID}_jsapi_card_ticket")
        ticket = _ticket
    else:
        ticket = client.jsapi.get_jsapi_card_ticket()
    card_list = []
    for item in body["cards"]:
        timestamp, nonce = str(int(time.time())), random_string(16)
        signer = WeChatSigner()
        signer.add_data(ticket, timestamp, item["card_id"], "", "", nonce)  # code, openid
        ext = {"timestamp": timestamp, "nonce_str": nonce, "signature": signer.signature}
        if "outer_str" in item:
            ext["outer_str"] = item["outer_str"]
        card_list.append({"cardId": item["card_id"], "cardExt": json.dumps(ext)})
    return jsonify({"card_list": card_list})
