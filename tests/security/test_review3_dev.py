"""Review 3 (attacker's eye): ``bff dev`` and the break-glass token.

Fails on the code as reviewed; passes once the finding is fixed (tests/security/REVIEW3.md).
"""

from __future__ import annotations

import pytest

from tests.test_dev import DevServer, bare_env

pytestmark = pytest.mark.slow  # a bff dev subprocess


def test_review3_bff_dev_does_not_print_a_break_glass_token_it_was_given():
    """R3-10. ``bff dev`` ends its banner with ``Operator endpoints take: Authorization: Bearer
    <BFF_ADMIN_TOKEN>`` whatever that token is. The default is the public
    ``sandbox-admin-token``, but a developer who exported a real one (a shared .env, a
    staging shell) gets it printed to the terminal and whatever captures it (CI logs,
    tmux scrollback). README: "any other token is never put in a page"; the banner should
    hold to the same rule (print it only when it is the sandbox default)."""
    secret = "r3-not-the-sandbox-default-token-0123456789abcdef"
    server = DevServer(bare_env(BFF_LOG_LEVEL="WARNING", BFF_ADMIN_TOKEN=secret))
    try:
        banner = server.banner
    finally:
        server.stop()
    assert "Operator endpoints" in banner
    assert secret not in banner, banner[-300:]
