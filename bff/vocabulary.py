"""The shared vocabulary of the house and the sandbox beside it: the sandbox's WeChat accounts
(the appids, secrets and push keys it accepts by default), which the service also uses by
default in sandbox mode. The sandbox imports nothing else from ``bff`` (tests/test_layers.py),
and this module imports nothing at all: the sandbox checks the service independently."""

SANDBOX_APPID = "wxsandbox0a000001"
SANDBOX_SECRET = "sandbox-oa-secret-0000000000000001"
SANDBOX_MP_APPID = "wxsandbox0m000001"
SANDBOX_MP_SECRET = "sandbox-mp-secret-0000000000000001"
SANDBOX_PUSH_TOKEN = "sandboxpushtoken"
SANDBOX_PUSH_AES_KEY = "c2FuZGJveC1wdXNoLWFlcy1rZXktMzItYnl0ZXMhISE"  # 43 chars, 32 bytes
