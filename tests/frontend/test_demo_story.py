"""The demo pages in headless chromium: the official JS-SDK over the sandbox's bridge, offline.

A person's story: log in through web authorization, take a coupon, see it with its code, open
it, activate the member card, have staff redeem the coupon once, see it used. Each page leaves a
screenshot in artifacts/screenshots/.
"""

from __future__ import annotations

import json
import re
import time

import requests

from tests.story import ADMIN, Story


def log_in_as_a_new_user(b) -> None:
    """The first page sends the person to WeChat's authorization page; they become a new user."""
    b.page.wait_for_selector("[data-testid=new-user]")
    b.screenshot("authorize")
    b.page.click("[data-testid=new-user]")


def take_a_coupon(b) -> str:
    """A new user takes a coupon in the coupon centre (add-card -> wx.addCard -> decrypt); the
    code the page shows."""
    b.goto("/demo/coupons.html")
    log_in_as_a_new_user(b)
    b.page.wait_for_selector("#take:enabled")
    b.page.click("#take")
    b.page.wait_for_selector("#taken:not([hidden])")
    return b.page.text_content("#taken-code").strip()


def consume_calls(base: str) -> int:
    with requests.Session() as http:
        return Story(http, wechat=base + "/sandbox").calls("card/code/consume")


def test_the_whole_story_on_the_demo_pages(browsing) -> None:
    b, page = browsing, browsing.page
    b.goto("/demo/")
    b.screenshot("index")

    # Coupon centre: take a coupon (add-card -> wx.addCard -> decrypt).
    code = take_a_coupon(b)
    assert re.fullmatch(r"\d{12}", code), code
    assert page.text_content("#status") == "addCard:ok"
    b.screenshot("coupons")

    # My cards: the coupon with its code; open it (wx.openCard shows WeChat's card view).
    b.goto("/demo/cards.html")
    card = page.wait_for_selector(f"[data-code='{code}']")
    assert card.query_selector(".badge").text_content() == "NORMAL"
    card.query_selector("button").click()
    view = page.wait_for_selector("[data-testid=wx-card-view]")
    assert code in view.text_content()
    assert page.text_content("#status") == "openCard:ok"
    b.screenshot("cards-open")
    page.click("[data-testid=wx-card-view-close]")
    pushes = requests.get(b.base + "/sandbox/_sim/pushes", timeout=5).json()["pushes"]
    assert any(p.get("event") == "user_view_card" for p in pushes), pushes

    # Member card: WeChat's activation form -> activate -> member info with bonus and balance.
    b.goto("/demo/member.html")
    page.wait_for_selector("#form:not([hidden])")
    page.fill("#name", "Wang Fang")
    page.click("#activate")
    page.wait_for_selector("#info:not([hidden])")
    assert page.text_content("#bonus") == "100"
    assert page.text_content("#balance") == "¥50.00"
    assert page.text_content("#member-name") == "Wang Fang"
    assert re.fullmatch(r"\d{12}", page.text_content("#number"))
    b.screenshot("member")

    # Staff: query, then redeem once; redeeming again gives the first redemption back.
    b.goto("/demo/staff.html")
    page.fill("#code", code)
    page.click("#query")
    page.wait_for_selector("text=The code can be redeemed")
    page.click("#redeem")
    page.wait_for_selector("#status:text('Redeemed')")
    first = page.text_content("[data-fact='redeemed at']")
    b.screenshot("staff")
    page.click("#redeem")
    page.wait_for_function("document.querySelector('#redeem').disabled === false")
    assert page.text_content("[data-fact='redeemed at']") == first
    assert consume_calls(b.base) == 1

    # My cards again: the coupon is used (the consume event reaches the holding).
    deadline = time.monotonic() + 15
    while True:
        b.goto("/demo/cards.html")
        badge = page.wait_for_selector(f"[data-code='{code}'] .badge").text_content()
        if badge == "CONSUMED" or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert badge == "CONSUMED"
    assert page.is_disabled(f"[data-code='{code}'] button")
    b.screenshot("cards-used")

    # Another person on the same browser: back to web authorization, where the first user is
    # listed to pick again.
    me = page.text_content("#who").split()[-1]
    b.goto("/demo/")
    page.click("#switch")
    page.wait_for_selector(f"button[value='{me}']")

    assert b.outside == [] and b.errors == []


def test_a_tampered_wx_config_signature_shows_wechats_error(browsing) -> None:
    b, page = browsing, browsing.page

    def tamper(route) -> None:
        answer = route.fetch()
        body = answer.json()
        body["signature"] = "0" * 40
        route.fulfill(response=answer, body=json.dumps(body))

    page.route("**/v1/jssdk/config", tamper)
    b.goto("/demo/coupons.html")
    log_in_as_a_new_user(b)
    page.wait_for_selector("#status.error")
    assert page.text_content("#status") == "config:invalid signature"
    b.screenshot("tampered-signature")
    assert page.is_disabled("#take")
    assert b.outside == []


def test_the_bridge_answers_card_apis_only_when_configured(browsing) -> None:
    """chooseCard's picker with a good cardSign; an API not in jsApiList is permission denied."""
    b, page = browsing, browsing.page
    code = take_a_coupon(b)

    # Started, not awaited: the picker waits for the person's tap.
    page.evaluate("""() => {
        window.chosen = import('/demo/client/index.js').then(({ createClient }) => {
            const bff = createClient({ baseUrl: location.origin, platform: 'h5', wx,
                                       storage: localStorage })
            return bff.chooseCard({ cardType: 'GENERAL_COUPON' })
        })
    }""")
    page.wait_for_selector("[data-testid=wx-card-picker]")
    b.screenshot("choose-card")
    page.click("[data-testid=wx-card-picker-ok]")
    picked = page.evaluate("() => window.chosen")
    assert [c["code"] for c in picked] == [code]

    denied = page.evaluate("""() => new Promise((done) => wx.chooseImage({ complete: done }))""")
    assert denied["errMsg"] == "chooseImage:permission denied"
    assert b.outside == [] and b.errors == []


def test_demo_staff_token_is_only_the_sandboxs_well_known_one(app, client) -> None:
    assert client.get("/demo/config.json").json["staffToken"] == ADMIN["Authorization"][7:]
    from bff import create_app

    other = create_app({"sandbox": True, "redis_url": app.extensions["bff"].settings.redis_url,
                        "admin_token": "a-real-operator-token"}).test_client()
    answer = other.get("/demo/config.json").json
    assert answer["staffToken"] is None and "a-real-operator-token" not in json.dumps(answer)
