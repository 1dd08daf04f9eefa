"""A scripted upstream for client tests that need failures the sandbox cannot produce."""

from __future__ import annotations

import json
from collections.abc import Callable

import requests
from requests.adapters import BaseAdapter

Reply = Callable[[requests.PreparedRequest], requests.Response] | dict | int | Exception


class ScriptedAdapter(BaseAdapter):
    """Answers each request with the next reply: a JSON dict, an HTTP status or an error."""

    def __init__(self, *replies: Reply) -> None:
        super().__init__()
        self.replies = list(replies)
        self.requests: list[requests.PreparedRequest] = []
        self.timeouts: list[object] = []

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        self.requests.append(request)
        self.timeouts.append(timeout)
        reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        if isinstance(reply, Exception):
            raise reply
        if callable(reply):
            return reply(request)
        resp = requests.Response()
        resp.request, resp.url = request, request.url
        if isinstance(reply, int):
            resp.status_code, resp._content = reply, b"<html>error</html>"
        else:
            resp.status_code, resp._content = 200, json.dumps(reply).encode()
        return resp

    def close(self) -> None:
        pass


def scripted_session(*replies: Reply) -> tuple[requests.Session, ScriptedAdapter]:
    adapter = ScriptedAdapter(*replies)
    session = requests.Session()
    session.trust_env = False  # as the client's own session (_pooled_session)
    session.mount("http://wechat.test", adapter)
    return session, adapter
