"""The sandbox object shared by every view: Redis, config, clock, runtime settings, errors."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Any

import redis
import requests

try:
    from hiredis import pack_command
except ImportError:  # pragma: no cover - hiredis comes with redis[hiredis]
    pack_command = None

from bff.sandbox import crypto
from bff.sandbox.state import MAX_PUSH_HISTORY, PUSH_HISTORY, Clock, Keys

# The most connections ``Sandbox.run`` keeps once calls that overlapped have ended: the pool's
# limit (``max_connections``) is the service's too.
KEPT_CONNECTIONS = 16
PUSH_TIMING_NUMBERS = ("push_delay_ms", "push_drop")
PUSH_TIMING_FLAGS = ("push_duplicate", "push_reorder")


@dataclass
class SandboxConfig:
    oa_appid: str
    oa_secret: str
    mp_appid: str
    mp_secret: str
    push_token: str
    push_aes_key: str
    event_url: str | None = None
    safe_mode: bool = True
    prefix: str = "{wxsandbox}:"  # one hash tag: its MULTIs run on a Redis Cluster too
    token_overlap_seconds: int = 300
    # Hosts of the JS-interface safe domains and web-authorization callback domains (wx.config,
    # /connect/oauth2/authorize); empty: any host.
    web_hosts: tuple[str, ...] = ()


class WeChatError(Exception):
    """Answered as HTTP 200 ``{"errcode", "errmsg"}``, as WeChat does."""

    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(errcode, errmsg)
        self.errcode = errcode
        self.errmsg = errmsg


def format_error(what: str = "") -> WeChatError:
    """WeChat's 47001 for a body it cannot use, saying what is wrong when that helps."""
    return WeChatError(47001, f"data format error: {what}" if what else "data format error")


class SimError(Exception):
    """A simulator request that makes no sense: HTTP 4xx ``{"error": ...}``."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class Sandbox:
    """Everything a view needs; one per app, stateless apart from Redis."""

    def __init__(self, r: redis.Redis, config: SandboxConfig,
                 push_session: requests.Session | None) -> None:
        self.r = r
        self.config = config
        self.keys = Keys(config.prefix)
        self.clock = Clock(r, self.keys)
        self.push_session = push_session or requests.Session()
        self._push_queue: Any = None
        self._push_queue_lock = threading.Lock()
        self._scripts: dict[str, Any] = {}
        # Connections taken from the client's pool and kept by this sandbox for ``run`` (a free
        # list), and the process they belong to: a forked child takes its own.
        self._kept: list[Any] = []
        self._kept_pid = os.getpid()

    @property
    def push_queue(self) -> Any:
        """This process's pushes made later (``push_delay_ms``): one ``push.PushQueue``."""
        with self._push_queue_lock:
            if self._push_queue is None:
                from bff.sandbox.push import PushQueue  # push imports this module

                self._push_queue = PushQueue()
            return self._push_queue

    # -- runtime settings (persisted so every worker agrees) --
    def settings(self) -> dict[str, Any]:
        stored = self.r.hgetall(self.keys.config)
        event_url = stored.get("event_url", self.config.event_url or "")
        return {
            "event_url": event_url or None,
            "safe_mode": stored.get("safe_mode", "1" if self.config.safe_mode else "0") == "1",
            "latency_ms": int(float(stored.get("latency_ms", 0))),
            "push_history": int(stored.get("push_history", PUSH_HISTORY)),
            # push timing (bff.sandbox.push): 0 / false = synchronous, as before
            "push_delay_ms": int(stored.get("push_delay_ms", 0)),
            "push_drop": int(stored.get("push_drop", 0)),
            "push_duplicate": stored.get("push_duplicate") == "1",
            "push_reorder": stored.get("push_reorder") == "1",
        }

    def update_settings(self, changes: dict[str, Any]) -> dict[str, Any]:
        mapping: dict[str, str] = {}
        if "event_url" in changes:
            mapping["event_url"] = changes["event_url"] or ""
        if "safe_mode" in changes:
            mapping["safe_mode"] = "1" if changes["safe_mode"] else "0"
        if "latency_ms" in changes:
            mapping["latency_ms"] = str(max(0, int(changes["latency_ms"] or 0)))
        if "push_history" in changes:  # e.g. a soak test that checks every push
            mapping["push_history"] = str(min(MAX_PUSH_HISTORY,
                                              max(1, int(changes["push_history"] or 1))))
        for name in PUSH_TIMING_NUMBERS:
            if name in changes:
                mapping[name] = str(int(changes[name] or 0))
        for name in PUSH_TIMING_FLAGS:
            if name in changes:
                mapping[name] = "1" if changes[name] else "0"
        if mapping:
            self.r.hset(self.keys.config, mapping=mapping)
        return self.settings()

    # -- apps --
    def secret_of(self, appid: str) -> str | None:
        return {self.config.oa_appid: self.config.oa_secret,
                self.config.mp_appid: self.config.mp_secret}.get(appid)

    def script(self, source: str) -> Any:
        """The Lua ``source`` registered with the sandbox's client (redis-py's ``Script``: by
        its SHA-1, loaded again when the server has lost it), made once."""
        found = self._scripts.get(source)
        if found is None:
            found = self._scripts[source] = self.r.register_script(source)
        return found

    def run(self, source: str, keys: list[str], args: list[Any]) -> Any:
        """``script(source)(keys=keys, args=args)``; with a plain redis-py client, on a
        connection this sandbox keeps. redis-py's pool, for every command, takes its lock,
        records its connection counts twice and polls the connection for stray data: more CPU
        than the call it serves, on a call that every in-process WeChat call makes (issue 18).
        A connection is taken from the pool once (it counts against the pool's limit as in
        use) and kept; an exchange that fails disconnects it, so that no reply left unread
        reaches the next call, and it connects again when next used. One the server closed (a
        restart, ``CLIENT KILL``) is sent the script once more, as redis-py's retry would."""
        script = self.script(source)
        if type(self.r) is not redis.Redis:  # a cluster client, fakeredis: as redis-py runs it
            return script(keys=keys, args=args)
        if self._kept_pid != os.getpid():
            self._kept, self._kept_pid = [], os.getpid()
        try:
            conn = self._kept.pop()
        except IndexError:
            conn = self.r.connection_pool.get_connection()
        try:
            reused = conn._sock is not None
            try:
                return self._evalsha(conn, script, keys, args)
            except redis.ConnectionError:
                conn.disconnect()
                if not reused:
                    raise
                return self._evalsha(conn, script, keys, args)  # on a new socket
        except BaseException:
            conn.disconnect()
            raise
        finally:
            if len(self._kept) < KEPT_CONNECTIONS:
                self._kept.append(conn)
            else:  # a burst's extra connections go back to the pool the service shares
                self.r.connection_pool.release(conn)

    def _evalsha(self, conn: Any, script: Any, keys: list[str], args: list[Any]) -> Any:
        command = ("EVALSHA", script.sha, len(keys), *keys, *args)
        # hiredis packs the command in one call; redis-py's own packing encodes each argument
        # in Python first: about 10 of the 250 us an in-process decrypt call costs
        # (bench/sandbox_call.py)
        packed = [pack_command(command)] if pack_command is not None else None
        self._send(conn, command, packed)
        try:
            return conn.read_response()
        except redis.exceptions.NoScriptError:  # a restarted or flushed server: load it again
            self.r.script_load(script.script)
            self._send(conn, command, packed)
            return conn.read_response()

    @staticmethod
    def _send(conn: Any, command: tuple[Any, ...], packed: list[bytes] | None) -> None:
        if packed is None:
            conn.send_command(*command)
        else:
            conn.send_packed_command(packed)

    def code_key(self, appid: str) -> str:
        """The appid's encrypt_code key, created once (SET NX) and shared by every worker: one
        command, which answers the key already there, or nothing when it set ours."""
        new = crypto.new_code_key()
        return self.r.set(self.keys.codekey(appid), new, nx=True, get=True) or new

    @property
    def biz(self) -> str:
        return crypto.biz_for(self.config.oa_appid)

    # -- users --
    def resolve_user(self, any_id: str | None) -> dict[str, str] | None:
        """The user with this MP openid, OA openid or unionid."""
        if not any_id:
            return None
        oa_openid = self.r.get(self.keys.uidx(any_id))
        if not oa_openid:
            return None
        user = self.r.hgetall(self.keys.user(oa_openid))
        return user or None

    def user_or_fail(self, any_id: Any) -> dict[str, str]:
        user = self.resolve_user(any_id if isinstance(any_id, str) else None)
        if user is None:
            raise SimError(f"unknown user {any_id!r}", 404)
        return user
