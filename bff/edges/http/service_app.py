"""The service's Flask class: Flask without the per-request work the service never uses.

- **No sessions.** The service keeps no state in cookies (a session is a Bearer token, read by
  ``bff.edges.http.user_auth``) and sets no ``SECRET_KEY``, so Flask's cookie session interface
  made a fresh ``NullSession`` for every request. ``NoSessions`` hands out one shared
  ``NullSession`` (it refuses every write, as before) and saves nothing.
- **``ensure_sync`` remembered.** Flask asks ``inspect.iscoroutinefunction`` of every hook and
  view on every request (five to ten times a request); the answer for a function never changes,
  so it is kept per function (a bound method is answered by its function).
"""

from __future__ import annotations

from collections.abc import Callable
from types import FunctionType, MethodType
from typing import Any

from flask import Flask
from flask.sessions import NullSession, SessionInterface


class NoSessions(SessionInterface):
    """No cookie sessions: every request gets the one ``NullSession`` (writes raise)."""

    _null = NullSession()

    def open_session(self, app: Flask, request: Any) -> NullSession:
        return self._null

    def save_session(self, app: Flask, session: Any, response: Any) -> None:
        return None


class ServiceFlask(Flask):
    session_interface = NoSessions()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._sync_functions: dict[Callable[..., Any], bool] = {}
        super().__init__(*args, **kwargs)

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        plain = func.__func__ if type(func) is MethodType else func
        if type(plain) is FunctionType:
            is_sync = self._sync_functions.get(plain)
            if is_sync is None:
                is_sync = self._sync_functions[plain] = super().ensure_sync(plain) is plain
            if is_sync:
                return func
        return super().ensure_sync(func)
