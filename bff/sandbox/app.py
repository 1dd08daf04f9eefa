"""The offline WeChat as a Flask app: api.weixin.qq.com paths plus the ``/_sim/`` simulator."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

import redis
import requests
from flask import Flask, g, jsonify
from flask.wrappers import Request, Response
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
from bff.sandbox.web import EXTENSION, LEAN_REQUEST, api_request, sandbox

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


class SandboxFlask(Flask):
    """The sandbox's Flask app, which answers its WeChat API routes (``web.wechat_api``) with a
    dispatch of its own: the route looked up by its path, an app context (``g``,
    ``current_app``) and the request object, then what Flask's dispatch runs for it (the call's
    bookkeeping, the view, its error handlers, the answer's delay, the teardown), without the
    request context, URL adapter and routing that Flask builds for every request. In sandbox
    mode every first decrypt makes such a call in the worker's own process, and Flask's
    machinery was 40 % of its cost (issue 18). Everything else (the simulator, the H5 pages,
    the token and login paths, a wrong method, a body without a length) goes through Flask;
    tests/sandbox/test_lean_dispatch.py holds the two to the same answers."""

    lean_routes: dict[str, tuple[str, Callable[[], Any]]]

    def wsgi_app(self, environ: dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterable[bytes]:
        route = self.lean_routes.get(environ.get("PATH_INFO", ""))
        if (route is None or environ.get("REQUEST_METHOD") != route[0]
                or not _has_length(environ)):
            outer = LEAN_REQUEST.set(None)  # a call made while a lean one is answered
            try:
                return super().wsgi_app(environ, start_response)
            finally:
                LEAN_REQUEST.reset(outer)
        app_context = self.app_context()
        app_context.push()
        req: Request = self.request_class(environ)
        token = LEAN_REQUEST.set(req)
        try:
            try:
                response = self.make_response(_begin_call(req) or route[1]())
            except Exception as e:  # noqa: BLE001 - answered as Flask's error handlers would
                response = _error_response(e)
            response = _delay_answer(response)
        finally:
            try:
                _flush_pushes(None)
            finally:
                LEAN_REQUEST.reset(token)
                app_context.pop()
        return response(environ, start_response)


def _has_length(environ: dict[str, Any]) -> bool:
    """A body whose length is given (what every WeChat client sends); a chunked one, or none
    with a POST, goes through Flask, which reads it as the server says."""
    length = environ.get("CONTENT_LENGTH")
    return (length.isdigit() if length else environ.get("REQUEST_METHOD") == "GET")


def _lean_routes(app: Flask) -> dict[str, tuple[str, Callable[[], Any]]]:
    routes = {}
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        method = getattr(view, "wechat_api_method", None)
        if method is not None and not rule.arguments:
            routes[rule.rule] = (method, view)
    return routes


def create_sandbox_app(redis: redis.Redis, config: SandboxConfig, *,
                       push_session: requests.Session | None = None) -> Flask:
    """Build the sandbox; all state is in ``redis`` under ``config.prefix``."""
    app = SandboxFlask(__name__)
    app.extensions[EXTENSION] = Sandbox(redis, config, push_session)
    for module in (api_auth, api_cards, api_card_buttons, api_catalogue, api_member, api_manage,
                   api_messages, api_media, sim, sim_actions, sim_channels, sim_messages,
                   sim_control, sim_jsapi, sim_spec, h5):
        app.register_blueprint(module.bp)
    app.lean_routes = _lean_routes(app)
    app.before_request(_before_wechat_call)
    app.after_request(_delay_answer)
    app.teardown_request(_flush_pushes)
    for kind, handler in _ERROR_HANDLERS:
        app.register_error_handler(kind, handler)
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
    return _begin_call(api_request())


def _begin_call(request: Request) -> Response | None:
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
        return jsonify(errcode=errcode, errmsg=_fault_errmsg(request, errcode))
    return None


def _fault_errmsg(request: Request, errcode: int) -> str:
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
    request = api_request()
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


def _error_response(e: Exception) -> Response:
    """The answer of the handler Flask would choose for ``e`` (``_ERROR_HANDLERS``)."""
    return next(handler(e) for kind, handler in _ERROR_HANDLERS if isinstance(e, kind))


def _unexpected(e: Exception) -> Response:
    """A bug in the sandbox: said in the path's shape, logged, never a stack trace."""
    log.exception("sandbox error: %s", type(e).__name__)
    if _is_sim(api_request().path.strip("/")):
        return sim_error_response(500, "sandbox internal error; it has been logged")
    response = jsonify(errcode=-1, errmsg="system error")
    response.status_code = 500
    return response


# The error handlers, registered with Flask and used by the sandbox's own dispatch: none of the
# first four is a subclass of another, and Exception comes last, so the first that matches is
# the one Flask chooses (the most specific).
_ERROR_HANDLERS: tuple[tuple[type[Exception], Callable[[Any], Response]], ...] = (
    (WeChatError, _wechat_error), (SimError, _sim_error), (HTTPException, _http_error),
    (RedisError, _store_error), (Exception, _unexpected))
