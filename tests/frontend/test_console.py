"""The operators' console in headless chromium, offline: three operators at work.

Staff redeem at the counter and are refused the catalogue; marketing creates a card with an
uploaded logo and sees the channel chart move when a user takes it; an admin changes a member's
bonus, the answer is lost, the change is sent again under the same key and is made once; the
audit lists all three. The operator token is typed once and is found nowhere afterwards. Each
section leaves a screenshot in artifacts/screenshots/console-*.png.
"""

from __future__ import annotations

import datetime
import io
import time
from pathlib import Path
from typing import Any

import pytest

from bff.edges.console import CONTENT_SECURITY_POLICY
from tests.frontend.conftest import browsing_at
from tests.story import Story

UPDATE = "card/membercard/updateuser"


def add_operator(app: Any, name: str, role: str) -> str:
    """An operator account, made by ``bff operators add NAME --role ROLE``; its token."""
    return Story(app.test_client()).operator(name, role)["Authorization"].removeprefix("Bearer ")


def sign_in(b: Any, token: str) -> None:
    """The operator opens the console and types the token once."""
    b.goto("/console/")
    b.page.wait_for_selector("#token")
    b.page.fill("#token", token)
    b.page.click("#sign-in")
    b.page.wait_for_selector("[data-testid=role]:visible")
    assert_token_nowhere(b, token)


def assert_token_nowhere(b: Any, token: str) -> None:
    """Not in the URL, the page (markup or any field's value), web storage, cookies or logs."""
    page = b.page
    assert token not in page.url
    assert token not in page.content()
    kept = page.evaluate("""() => JSON.stringify({
        fields: [...document.querySelectorAll('input, textarea')].map((e) => `${e.id}=${e.value}`),
        local: Object.entries(localStorage), session: Object.entries(sessionStorage),
        cookies: document.cookie, title: document.title, history: history.state })""")
    assert token not in kept
    assert all(token not in c["value"] for c in page.context.cookies())
    assert all(token not in m for m in b.logged)


def open_section(b: Any, section: str) -> None:
    b.goto(f"/console/#/{section}")
    b.page.wait_for_selector(f"#section-{section}")


def png(color: str = "green") -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (120, 120), color).save(out, "PNG")
    return out.getvalue()


def chart_data(b: Any, testid: str) -> dict[str, Any]:
    """What a Chart.js chart draws: its labels and each dataset's values."""
    return b.page.evaluate("""(testid) => {
        const chart = Chart.getChart(document.querySelector(`[data-testid=${testid}]`))
        return { labels: chart.data.labels,
                 sets: Object.fromEntries(chart.data.datasets.map((d) => [d.label, d.data])) }
    }""", testid)


def eventually(check: Any, seconds: float = 15) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        found = check()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.3)


@pytest.fixture
def console(browser, live_server):
    """Open a laptop-sized browser on the console: ``with console() as b: ...``."""
    def opened():
        return browsing_at(browser, live_server, laptop=True)
    return opened


def watch(b: Any) -> Any:
    """Record what the page logs and the API's refusals."""
    b.logged = []
    b.refused = []
    b.page.on("console", lambda m: b.logged.append(m.text))
    b.page.on("response", lambda r: b.refused.append((r.status, r.url))
              if "/v1/admin/" in r.url and r.status >= 400 else None)
    return b


def staff_at_the_counter(console: Any, story: Story, app: Any, code: str) -> None:
    token = add_operator(app, "sam", "staff")
    with console() as b:
        watch(b)
        page = b.page
        sign_in(b, token)
        links = page.eval_on_selector_all("#nav a", "as => as.map((a) => a.textContent)")
        assert links == ["Counter"]
        page.wait_for_selector("#section-counter")
        page.fill("#code", code)
        page.click("#query")
        page.wait_for_selector("#counter-status:text('The code can be redeemed')")
        page.click("#redeem")
        page.wait_for_selector("#counter-status:text('Redeemed')")
        first = page.text_content("[data-fact='redeemed at']")
        assert page.text_content("[data-fact='by']") == "sam"
        b.screenshot("console-counter")
        page.click("#redeem")  # a second try: refused, with the first redemption
        page.wait_for_selector("#counter-status:text('Already redeemed')")
        assert "already" in page.text_content("[data-fact='first redemption']").lower()
        assert first
        b.screenshot("console-counter-again")
        assert story.calls("card/code/consume") == 1

        # The catalogue is not for staff: no link, and the API says 403 if they go there.
        open_section(b, "cards")
        page.wait_for_selector("#catalogue-error")
        assert "Not allowed for your role" in page.text_content("#catalogue-error")
        assert any(status == 403 and "/v1/admin/cards" in url for status, url in b.refused)
        assert page.query_selector("#nav a[data-section=cards]") is None
        assert page.query_selector("#new-card") is None  # no form the API would refuse
        b.screenshot("console-staff-refused")
        assert b.outside == [] and b.errors == []


def marketing_makes_a_card(console: Any, story: Story, app: Any) -> str:
    token = add_operator(app, "mia", "marketing")
    with console() as b:
        watch(b)
        page = b.page
        sign_in(b, token)
        links = page.eval_on_selector_all("#nav a", "as => as.map((a) => a.textContent)")
        assert "Cards" in links and "Identities" not in links and "Audit" not in links
        open_section(b, "cards")
        page.wait_for_selector("#catalogue")
        page.select_option("#new-type", "GENERAL_COUPON")
        page.fill("#title", "Spring ¥10 off")
        page.fill("#brand_name", "Console Café")
        page.set_input_files("#logo", files=[{"name": "logo.png", "mimeType": "image/png",
                                              "buffer": png()}])
        page.fill("#notice", "Show the code at the counter")
        page.fill("#description", "¥10 off any order of ¥50")
        page.fill("#quantity", "500")
        page.fill("#default_detail", "¥10 off an order of ¥50")
        page.click("#create")
        page.wait_for_selector("#create-status[data-card-id]")
        card_id = page.get_attribute("#create-status", "data-card-id")
        assert story.calls("cgi-bin/media/uploadimg") == 1
        page.wait_for_selector(f"[data-testid=catalogue] tr[data-key='{card_id}']")
        assert "pending" in page.text_content(f"tr[data-key='{card_id}']")
        b.screenshot("console-cards")

        story.review(card_id)  # WeChat approves it
        b.goto(f"/console/#/cards/{card_id}")
        page.wait_for_selector("#card-facts .badge.approved")
        page.fill("#change-card [name=notice]", "Show the code before paying")
        page.click("#save-card")
        page.wait_for_selector("#change-card .status.ok")
        assert "back to WeChat's review" in page.text_content("#change-card .status")
        page.fill("#stock [name=delta]", "250")
        page.click("#change-stock")
        page.wait_for_selector("#stock .status.ok")
        card = story.admin_card(card_id)["card"]["general_coupon"]["base_info"]
        assert card["notice"] == "Show the code before paying"
        assert card["sku"]["quantity"] == 750
        b.screenshot("console-card")
        story.review(card_id)  # the changed notice is approved too

        # Issuing: a QR code for the poster channel, with its image.
        open_section(b, "issuing")
        page.fill("#qr-card", card_id)
        page.fill("#qr-channel", "poster-7")
        page.click("#make-qr")
        img = page.wait_for_selector("[data-testid=qr-image]")
        page.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=img)
        page.fill("#article-card", card_id)
        page.click("#article-form button[type=submit]")
        assert page.wait_for_selector("#article-form textarea").input_value()
        page.fill("#landing-form [name=page_title]", "Spring offers")
        page.fill("#landing-form [name=banner]", "http://mmbiz.qpic.cn/mmbiz/banner/0")
        page.fill("#landing-form [name=cards]", card_id)
        page.click("#landing-form button[type=submit]")
        page.wait_for_selector("#landing-form [data-fact=page_id]")
        page.fill("#broadcast-card", card_id)
        page.click("#broadcast")  # to every follower
        page.wait_for_selector("#broadcasts tbody tr")
        assert story.calls("cgi-bin/message/mass/sendall") == 1
        b.screenshot("console-issuing")

        # Statistics: nothing for the channel yet; a user takes the card from the poster.
        open_section(b, "stats")
        page.wait_for_selector("[data-testid=chart-channels]")
        assert "poster-7" not in chart_data(b, "chart-channels")["labels"]
        story.take(card_id, outer_str="poster-7")
        assert eventually(lambda: story.channel_stats(card_id).get("poster-7"))
        page.click("#show-channels")
        page.wait_for_selector("[data-testid=channel-totals] tr[data-key='poster-7']")
        drawn = chart_data(b, "chart-channels")
        at = drawn["labels"].index("poster-7")
        assert drawn["sets"]["received"][at] == 1
        per_card = chart_data(b, "chart-cards")
        assert per_card["sets"]["received"][per_card["labels"].index(card_id)] == 1
        assert sum(chart_data(b, "chart-days")["sets"]["received"]) == 3  # the member and
        # the coupon were taken before
        page.wait_for_selector("[data-testid=chart-wechat]")
        with page.expect_download() as download:
            page.click("#channels-csv")
        assert "poster-7" in Path(download.value.path()).read_text("utf-8")
        b.screenshot("console-stats")

        # Events: the list follows the stream while it is open.
        open_section(b, "events")
        taken = """() => [...document.querySelectorAll('[data-testid=events] [data-col=Event]')]
            .filter((td) => td.textContent === 'user_get_card').length"""
        page.wait_for_selector("[data-testid=events] .badge:text('user_get_card')")
        before = page.evaluate(taken)
        story.take(card_id, outer_str="counter-qr")
        page.wait_for_function(f"() => ({taken})() > {before}")
        b.screenshot("console-events")

        # Codes: a file of 150 custom codes goes to WeChat 100 at a time, with a report.
        groupon = story.deposit_card()
        open_section(b, "codes")
        codes = "\n".join(f"C{n:011d}" for n in range(150)) + "\nC00000000007\n"
        page.fill("#import-card", groupon)
        page.set_input_files("#codes-file", files=[{"name": "codes.txt", "mimeType": "text/plain",
                                                    "buffer": codes.encode()}])
        page.click("#import")
        page.wait_for_selector("#import-report [data-fact=deposited]")
        assert page.text_content("#import-report [data-fact=deposited]") == "150"
        assert page.text_content("#import-report [data-fact='repeated lines dropped']") == "1"
        assert page.text_content("#import-report [data-fact='codes WeChat now holds']") == "150"
        assert page.eval_on_selector("#import-progress", "p => p.value === p.max")
        assert story.calls("card/code/deposit") == 2
        b.screenshot("console-codes")
        assert b.outside == [] and b.errors == []
    return card_id


def admin_changes_a_bonus(console: Any, story: Story, app: Any, member: dict) -> None:
    token = add_operator(app, "ada", "admin")
    with console() as b:
        watch(b)
        page = b.page
        sign_in(b, token)
        # The member card's activation form: name and mobile required, birthday optional.
        b.goto(f"/console/#/cards/{member['card_id']}")
        page.wait_for_selector("#activation-form")
        page.select_option("#activation-form [name=USER_FORM_INFO_FLAG_NAME]", "required")
        page.select_option("#activation-form [name=USER_FORM_INFO_FLAG_MOBILE]", "required")
        page.select_option("#activation-form [name=USER_FORM_INFO_FLAG_BIRTHDAY]", "optional")
        page.click("#save-form")
        page.wait_for_selector("#activation-form .status.ok")

        open_section(b, "members")
        page.select_option("#search-by", "code")
        page.fill("#search-value", member["code"])
        page.click("#search")
        page.click(f"[data-testid=members] tr[data-key='{member['code']}'] a")
        page.wait_for_selector("#member-change")
        assert page.text_content("[data-fact='activation form']") == (
            "asks for name, mobile; optional birthday")

        keys: list[str] = []
        lost = {"first": True}

        def lose_the_first_answer(route: Any) -> None:
            if route.request.method != "POST":
                route.continue_()
                return
            keys.append(route.request.headers["idempotency-key"])
            if lost.pop("first", False):
                route.fetch()  # the service makes the change; its answer never arrives
                route.abort("connectionreset")
            else:
                route.continue_()

        page.route("**/changes", lose_the_first_answer)
        page.fill("[name=add_bonus]", "10")
        page.fill("[name=record_bonus]", "birthday gift")
        page.click("#apply-change")
        page.wait_for_selector("#change-status.error")
        assert "apply the same change again" in page.text_content("#change-status")
        page.click("#apply-change")  # the same change again: the same key
        page.wait_for_selector("#change-status.ok")
        assert "bonus 10" in page.text_content("#change-status")
        assert len(keys) == 2 and keys[0] == keys[1]
        rows = page.wait_for_selector("[data-testid=ledger]").query_selector_all("tbody tr")
        assert len(rows) == 1 and "+10" in rows[0].text_content()
        assert rows[0].query_selector("[data-col=By]").text_content() == "ada"
        assert story.calls(UPDATE) == 1
        answers = page.wait_for_selector("[data-testid=member-form] dl")  # what they filled in
        assert answers.query_selector("dd") is not None
        b.screenshot("console-members")

        open_section(b, "identities")
        page.fill("#identity-value", member["user"]["mp_openid"])
        page.click("#find-identity")
        page.wait_for_selector("[data-fact='Official Account openid']")
        assert page.text_content("[data-fact='Official Account openid']") == (
            member["user"]["oa_openid"])
        page.click("[data-unlink=mp_openid]")  # asks first
        page.click("[data-unlink=mp_openid]")
        page.wait_for_selector("#identity-form .status.ok:text('no longer linked')")
        b.screenshot("console-identities")
        page.click("#find-identity")
        page.wait_for_selector("#identity-form .status.error:text('No identity')")

        open_section(b, "audit")
        table = page.wait_for_selector("[data-testid=audit]")
        seen = {(r.query_selector("[data-col=Operator]").text_content(),
                 r.query_selector("[data-col=Role]").text_content())
                for r in table.query_selector_all("tbody tr")}
        assert {("sam", "staff"), ("mia", "marketing"), ("ada", "admin")} <= seen
        text = table.text_content()
        assert "/v1/admin/codes/redeem" in text and "/v1/admin/cards" in text
        assert "/changes" in text
        b.screenshot("console-audit")
        assert b.outside == [] and b.errors == []


def test_staff_marketing_and_admin_at_work_and_the_audit_lists_them(app, client, console):
    story = Story(client)
    coupon = story.card()
    user = story.user()
    code = story.take_and_open(coupon, user)
    m = story.new_member()
    assert story.activate(m["token"], m["returned"]).status_code == 200
    member = {**m, "code": m["returned"]["code"]}

    staff_at_the_counter(console, story, app, code)
    marketing_makes_a_card(console, story, app)
    admin_changes_a_bonus(console, story, app, member)


def test_the_token_is_typed_once_and_found_nowhere_after_sign_in(app, console):
    token = add_operator(app, "tia", "admin")
    with console() as b:
        watch(b)
        page = b.page
        answer = page.goto(b.base + "/console/")
        assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        page.wait_for_selector("#token")
        b.screenshot("console-sign-in")
        page.fill("#token", "not-" + token)  # a wrong token: refused, the field emptied
        page.click("#sign-in")
        page.wait_for_selector(".status.error:text('not valid')")
        assert page.input_value("#token") == ""
        sign_in(b, token)
        assert page.text_content("[data-testid=operator]") == "tia"
        links = page.eval_on_selector_all("#nav a", "as => as.map((a) => a.textContent)")
        assert links == ["Counter", "Cards", "Issuing", "Codes", "Members", "Statistics",
                         "Events", "Identities", "Audit"]
        for section in ("cards", "issuing", "codes", "members", "stats", "events", "identities",
                        "audit", "counter"):
            open_section(b, section)
            assert_token_nowhere(b, token)

        page.reload()  # the cookie keeps the session; the CSRF token is read again
        page.wait_for_selector("[data-testid=role]:visible")
        open_section(b, "issuing")
        page.fill("#whitelist-form [name=username]", "tester_one")
        page.click("#whitelist-form button")  # a change: it needs the session's CSRF token
        page.wait_for_selector("#whitelist-form .status.ok")
        assert_token_nowhere(b, token)

        page.click("#sign-out")
        page.wait_for_selector("#token")
        gone = page.evaluate("() => fetch('/v1/admin/session').then((r) => r.status)")
        assert gone == 401  # sign-out ended the server session
        assert_token_nowhere(b, token)
        assert b.outside == [] and b.errors == []


def test_the_console_on_a_phone(app, browsing):
    """Phone-sized: the sections behind a menu; the counter fits the screen."""
    token = add_operator(app, "pat", "staff")
    b = watch(browsing)
    sign_in(b, token)
    page = b.page
    assert not page.is_visible("#nav a")
    page.click("#menu")
    page.wait_for_selector("#nav a[data-section=counter]:visible")
    page.click("#nav a[data-section=counter]")
    page.wait_for_selector("#code")
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390
    b.screenshot("console-phone-counter")
    assert b.outside == [] and b.errors == []


@pytest.mark.parametrize("zone", ["UTC", "America/Los_Angeles", "Asia/Shanghai"])
def test_the_statistics_ranges_are_shanghai_days_whatever_the_browsers_zone(app, browser,
                                                                           live_server, zone):
    """The service and WeChat date statistics in Shanghai: at 17:00 UTC it is already the next
    day there, and the default ranges end on Shanghai's today (channels) and yesterday
    (WeChat's data), not the browser's (a UTC browser missed the day's events after 16:00)."""
    token = add_operator(app, "tz-" + zone.lower().replace("/", "-"), "admin")
    with browsing_at(browser, live_server, laptop=True, timezone_id=zone) as b:
        watch(b)
        b.page.clock.install(time=datetime.datetime(2026, 12, 6, 17, 0,
                                                    tzinfo=datetime.UTC))
        sign_in(b, token)
        open_section(b, "stats")
        b.page.wait_for_selector("#channels-to")
        assert b.page.input_value("#channels-from") == "2026-11-08"
        assert b.page.input_value("#channels-to") == "2026-12-07"
        assert b.page.input_value("#wechat-from") == "2026-11-30"
        assert b.page.input_value("#wechat-to") == "2026-12-06"
