"""The offline WeChat as a Flask app: api.weixin.qq.com paths plus the ``/_sim/`` simulator."""

from __future__ import annotations

import logging
import time
from http import HTTPStatus

import redis
import requests
from flask import Flask, g, jsonify, request
from flask.wrappers import Response
from redis.exceptions import RedisError
from werkzeug.exceptions import HTTPException

from bff.sandbox import (
    api_auth,
    api_card_buttons,
    api_cards,
    api_catalogue,
    api_manage,
    api_media,
    api_member,
    api_messages,
    crypto,
    h5,
    push,
    sim,
    sim_actions,
    sim_channels,
    sim_control,
    sim_jsapi,
    sim_messages,
    sim_spec,
)
from bff.sandbox.core import Sandbox, SandboxConfig, SimError, WeChatError
from bff.sandbox.web import EXTENSION, sandbox

__all__ = ["SandboxConfig", "create_sandbox_app"]

log = logging.getLogger(__name__)

ERRMSGS = {
    -1: "system error",
    40001: "invalid credential, access_token is invalid or not latest",
    40014: "invalid access_token",
    42001: "access_token expired",
    45009: "reach max api daily quota limit",
    45011: "api minute-quota reach limit",
    40226: "code blocked",
}


def create_sandbox_app(redis: redis.Redis, config: SandboxConfig, *,
                       push_session: requests.Session | None = None) -> Flask:
    """Build the sandbox; all state is in ``redis`` under ``config.prefix``."""
    app = Flask(__name__)
    app.extensions[EXTENSION] = Sandbox(redis, config, push_session)
    for module in (api_auth, api_cards, api_card_buttons, api_catalogue, api_member, api_manage,
                   api_messages, api_media, sim, sim_actions, sim_channels, sim_messages,
                   sim_control, sim_jsapi, sim_spec, h5):
        app.register_blueprint(module.bp)
    app.before_request(_before_wechat_call)
    app.after_request(_delay_answer)
    app.teardown_request(_flush_pushes)
    app.register_error_handler(WeChatError, _wechat_error)
    app.register_error_handler(SimError, _sim_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(RedisError, _store_error)
    app.register_error_handler(Exception, _unexpected)
    return app


_BEGIN_CALL = """
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
local token, code_key = {}, false
if KEYS[5] then token = redis.call('HGETALL', KEYS[5]) end
if KEYS[6] then code_key = redis.call('SET', KEYS[6], ARGV[2], 'NX', 'GET') or ARGV[2] end
return {redis.call('HGET', KEYS[2], 'latency_ms'), redis.call('EXISTS', KEYS[3]),
        redis.call('GET', KEYS[4]), token, code_key}
"""
# The calls that unseal an encrypt_code read the Official Account's code key (Sandbox.code_key)
# with the call's bookkeeping, instead of in a round trip of their own.
_READS_CODE_KEY = frozenset({"card/code/decrypt"})


def _is_sim(path: str) -> bool:
    """The simulator's own paths (and its spec), and the image host: not calls to WeChat's
    API."""
    return path in ("_sim", "openapi.json") or path.startswith(("_sim/", "mmbiz.qpic.cn/"))


def _before_wechat_call() -> Response | None:
    """Count the call, then apply the global latency and any injected fault for its path."""
    path = request.path.strip("/")
    if _is_sim(path) or request.method == "OPTIONS":  # a CORS preflight is no call to WeChat
        return None
    sb = sandbox()
    fault_key = sb.keys.fault(path)
    token = request.args.get("access_token")
    # One script: count the call, read the latency and whether a fault waits, and with them
    # the clock (each reading of this call uses it) and the token's record.
    keys = [sb.keys.calls, sb.keys.config, fault_key, sb.keys.clock]
    args = [path]
    if token:
        keys.append(sb.keys.token(token))
        if path in _READS_CODE_KEY:
            keys.append(sb.keys.codekey(sb.config.oa_appid))
            args.append(crypto.new_code_key())
    latency, has_fault, offset, token_data, code_key = sb.run(_BEGIN_CALL, keys, args)
    g.sandbox_clock = sb.clock.read_for_call(offset)
    if token:
        g.sandbox_token = (token, dict(zip(token_data[::2], token_data[1::2], strict=True)))
    if code_key:
        g.sandbox_code_key = (sb.config.oa_appid, code_key)
    delay_ms = int(float(latency or 0))
    fault: dict[str, str] = {}
    if has_fault:
        pipe = sb.r.pipeline()  # MULTI: the decrement and the read belong together
        pipe.hincrby(fault_key, "count", -1)
        pipe.hgetall(fault_key)
        left, data = pipe.execute()
        if left <= 0:
            sb.r.delete(fault_key)
        if left >= 0:
            fault = data
    delay_ms += int(fault.get("latency_ms", 0))
    if delay_ms > 0:
        time.sleep(delay_ms / 1000)
    if fault.get("latency_after_ms"):  # the call takes effect, then its answer is slow
        g.sandbox_answer_delay = int(fault["latency_after_ms"]) / 1000
    if "http_status" in fault:
        status = int(fault["http_status"])
        return Response(f"sandbox fault: HTTP {status}\n", status=status, mimetype="text/plain")
    if "errcode" in fault:
        errcode = int(fault["errcode"])
        return jsonify(errcode=errcode, errmsg=_fault_errmsg(errcode))
    return None


def _fault_errmsg(errcode: int) -> str:
    if errcode == 40164:  # WeChat names the caller's address, as the IP whitelist saw it
        ip = request.remote_addr or "0.0.0.0"
        return f"invalid ip {ip} ipv6 ::ffff:{ip}, not in whitelist rid: sandbox"
    return ERRMSGS.get(errcode, "sandbox fault")


def _delay_answer(response: Response) -> Response:
    delay = g.pop("sandbox_answer_delay", 0)
    if delay:
        time.sleep(delay)
    return response


def _flush_pushes(exc: BaseException | None) -> None:
    """The pushes this request held back (push_reorder), in reverse order; then the call's
    reading of the clock ends."""
    try:
        push.flush_batch(sandbox())
    finally:
        clock = g.pop("sandbox_clock", None)
        if clock is not None:
            sandbox().clock.end_call(clock)


def _wechat_error(e: WeChatError) -> Response:
    return jsonify(errcode=e.errcode, errmsg=e.errmsg)


def _store_error(e: RedisError) -> Response:
    """WeChat's own answer when its back end fails: HTTP 503, errcode -1 (system busy)."""
    response = jsonify(errcode=-1, errmsg="system error")
    response.status_code = 503
    return response


def sim_error_response(status: int, message: str) -> Response:
    """The simulator answers errors in the service's one shape: ``{code, status, message}``."""
    response = jsonify(code=status, status=HTTPStatus(status).phrase, message=message)
    response.status_code = status
    return response


def _sim_error(e: SimError) -> Response:
    return sim_error_response(e.status, e.message)


def _http_error(e: HTTPException) -> Response:
    """``/_sim`` paths answer in the service's shape; WeChat's paths in WeChat's own."""
    if _is_sim(request.path.strip("/")):
        return sim_error_response(e.code or 500, e.description or e.name)
    status = e.code or 500
    if status in (404, 405):  # never -1 (system busy): WeChat's clients retry that forever
        errcode, errmsg = 48001, (f"api unauthorized: {request.method} {request.path} is not "
                                  "simulated by the sandbox")
    elif status < 500:
        errcode, errmsg = 47001, f"data format error: {e.name}"
    else:
        errcode, errmsg = -1, f"sandbox: {e.name}"
    response = jsonify(errcode=errcode, errmsg=errmsg)
    response.status_code = status
    return response


def _unexpected(e: Exception) -> Response:
    """A bug in the sandbox: said in the path's shape, logged, never a stack trace."""
    log.exception("sandbox error: %s", type(e).__name__)
    if _is_sim(request.path.strip("/")):
        return sim_error_response(500, "sandbox internal error; it has been logged")
    response = jsonify(errcode=-1, errmsg="system error")
    response.status_code = 500
    return response
