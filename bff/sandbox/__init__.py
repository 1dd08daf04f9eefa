"""The offline WeChat: answers like api.weixin.qq.com and simulates users (``/_sim/``)."""

from bff.sandbox.app import SandboxConfig, create_sandbox_app
from bff.sandbox.server import serve_in_thread

__all__ = ["SandboxConfig", "create_sandbox_app", "serve_in_thread"]
