"""/docs renders in a browser with no network: its UI assets come from an installed package."""

from __future__ import annotations

SHOWN = """(paths) => {
    const text = document.body.innerText.replace(/\\u200b/g, '')
    return paths.every((p) => text.includes(p))
}"""


def test_docs_render_offline_with_the_operations(browsing) -> None:
    b, page = browsing, browsing.page
    b.goto("/docs")
    page.wait_for_function(SHOWN, arg=["/v1/cards/add-card", "/v1/admin/codes/redeem"],
                           timeout=20000)
    b.screenshot("docs", full_page=False)
    assert b.outside == [], f"/docs fetched from outside: {b.outside}"
    assert b.errors == []
