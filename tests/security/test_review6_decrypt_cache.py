"""Review 6: the decrypt cache (``bff.domain.ownership.resolve_code``, ``keys.decrypted``).

``_decrypt`` keeps every ``WeChatApiError`` but TokenInvalid / QuotaExceeded / Busy as a refusal
for 10 minutes, in the Redis every instance shares. An errcode that says nothing about the
encrypt_code (the calling instance's IP not whitelisted, the API not authorised for the
account, ...) is then answered as "no code matches this encrypt_code" by every instance for
10 minutes after WeChat recovered (or: after the one misconfigured instance was fixed)."""

from __future__ import annotations

import pytest

from bff.ground.wechat.errors import ErrCode
from tests.story import bearer


def decrypt(client, token: str, encrypt_code: str):
    return client.post("/v1/cards/codes/decrypt", json={"encrypt_code": encrypt_code},
                       headers=bearer(token))


@pytest.mark.parametrize("errcode", [ErrCode.IP_NOT_WHITELISTED, ErrCode.API_UNAUTHORIZED,
                                     ErrCode.NO_API_PERMISSION])
def test_a_wechat_error_about_the_caller_is_not_kept_as_no_such_code(story, client, errcode):
    user = story.user()
    token = story.login(user)
    _, encrypt_code = story.take(story.card(), user, token=token)
    # One call fails for a reason that is not the encrypt_code's (e.g. one instance whose
    # egress IP is not on the Official Account's whitelist yet).
    story.fault("card/code/decrypt", errcode=int(errcode), count=1)
    first = decrypt(client, token, encrypt_code)
    assert first.status_code >= 400
    # WeChat (or the instance) is fine again: the user's own, real card opens.
    again = decrypt(client, token, encrypt_code)
    assert again.status_code == 200, (
        f"the real card is refused for 10 minutes after one {int(errcode)}: "
        f"{again.status_code} {again.get_json()}")
