"""QR codes (validation, WeChat body, image round trip), landing pages, article HTML, whitelist."""

from __future__ import annotations

import io

import pytest
import zxingcpp
from PIL import Image

from tests.story import ADMIN


def qr(client, body: dict):
    return client.post("/v1/admin/qrcodes", json=body, headers=ADMIN)


def test_operator_token_required(client):
    assert client.post("/v1/admin/qrcodes", json={"cards": []}).status_code == 401
    res = client.post("/v1/admin/qrcodes", json={"cards": [{"card_id": "x"}]})
    assert res.status_code == 401
    assert res.json["code"] == 401


def test_single_card_qrcode_and_its_image_decodes_to_the_url(story, client):
    card = story.card()
    res = qr(client, {"cards": [{"card_id": card, "outer_str": "poster-7"}],
                      "expire_seconds": 1800})
    assert res.status_code == 201, res.json
    body = res.json
    assert body["ticket"] and body["show_qrcode_url"].startswith("https://")
    assert body["url"].startswith("http://weixin.qq.com/q/")
    assert body["expire_seconds"] == 1800
    png = client.get(body["image_url"], headers=ADMIN)
    assert png.status_code == 200 and png.mimetype == "image/png"
    [found] = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.data)))
    assert found.text == body["url"]
    svg = client.get("/v1/admin/qrcodes/image", query_string={"url": body["url"],
                                                              "format": "svg"}, headers=ADMIN)
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    assert b"<svg" in svg.data


def test_multiple_cards_make_a_qr_multiple_card(story, client):
    cards = [story.card() for _ in range(5)]
    res = qr(client, {"cards": [{"card_id": c, "outer_str": "shelf"} for c in cards]})
    assert res.status_code == 201, res.json
    assert res.json["expire_seconds"] is None
    assert story.calls("card/qrcode/create") == 1


@pytest.mark.parametrize("body, field", [
    ({"cards": []}, "cards"),
    ({"cards": [{"card_id": f"c{i}"} for i in range(6)]}, "cards"),
    ({"cards": [{"card_id": "c1"}], "expire_seconds": 59}, "expire_seconds"),
    ({"cards": [{"card_id": "c1"}], "expire_seconds": 1801}, "expire_seconds"),
    ({"cards": [{"card_id": "c1"}, {"card_id": "c2", "openid": "o1"}]}, "cards"),
    ({"cards": [{"card_id": "c1"}, {"card_id": "c2", "is_unique_code": True}]}, "cards"),
    ({"cards": [{"card_id": "c1", "code": "123", "is_unique_code": True}]}, "cards"),
    ({"cards": [{"card_id": "c1", "outer_str": "x" * 129}]}, "cards"),
    ({"cards": [{"card_id": "c1", "code": "1" * 21}]}, "cards"),
    ({"cards": [{"code": "1"}]}, "cards"),
])
def test_invalid_qrcodes_are_422_and_never_reach_wechat(story, client, body, field):
    res = qr(client, body)
    assert res.status_code == 422, res.json
    assert field in res.json["errors"]["json"]
    assert "card/qrcode/create" not in story.calls()


@pytest.mark.parametrize("url", ["ftp://weixin.qq.com/q/x", "weixin.qq.com/q/abc",
                                 "http://", "http://a b", "https://x/" + "a" * 1100])
def test_image_refuses_what_is_not_a_short_http_url(client, url):
    res = client.get("/v1/admin/qrcodes/image", query_string={"url": url}, headers=ADMIN)
    assert res.status_code == 422, res.json


def test_landing_page(story, client):
    cards = [story.card(), story.card()]
    body = {"banner": "http://mmbiz.qpic.cn/banner.jpg", "page_title": "Offers nearby",
            "can_share": True, "scene": "SCENE_NEAR_BY",
            "card_list": [{"card_id": c, "thumb_url": f"www.qq.com/{c}.jpg"} for c in cards]}
    res = client.post("/v1/admin/landing-pages", json=body, headers=ADMIN)
    assert res.status_code == 201, res.json
    assert res.json["url"].startswith("https://") and isinstance(res.json["page_id"], int)


@pytest.mark.parametrize("change", [
    {"scene": "SCENE_BILLBOARD"}, {"card_list": []}, {"banner": None},
    {"card_list": [{"card_id": "c1"}]},
    {"card_list": [{"card_id": "c1", "thumb_url": "a"}, {"card_id": "c1", "thumb_url": "a"}]},
])
def test_landing_page_validation(story, client, change):
    body = {"banner": "http://b/1.jpg", "page_title": "t", "can_share": False,
            "scene": "SCENE_MENU", "card_list": [{"card_id": "c1", "thumb_url": "t"}], **change}
    body = {k: v for k, v in body.items() if v is not None}
    res = client.post("/v1/admin/landing-pages", json=body, headers=ADMIN)
    assert res.status_code == 422, res.json
    assert "card/landingpage/create" not in story.calls()


def test_article_html(story, client):
    card = story.card()
    res = client.get(f"/v1/admin/cards/{card}/article-html", headers=ADMIN)
    assert res.status_code == 200
    assert card in res.json["content"] and "<iframe" in res.json["content"]


def test_whitelist_replaces_and_is_limited_to_ten(story, client):
    users = [story.user()["oa_openid"] for _ in range(3)]
    res = client.put("/v1/admin/test-whitelist", headers=ADMIN,
                     json={"openid": users, "username": ["eddy", "abcd"]})
    assert res.status_code == 200, res.json
    assert res.json == {"openid": users, "username": ["eddy", "abcd"]}
    too_many = {"openid": users, "username": [f"u{i}" for i in range(8)]}
    res = client.put("/v1/admin/test-whitelist", json=too_many, headers=ADMIN)
    assert res.status_code == 422
    assert "at most 10" in str(res.json["errors"])
    assert story.calls("card/testwhitelist/set") == 1
    # No list at all is refused, never read as "empty the whitelist": an empty object is
    # invalid (422), no JSON body is 415.
    for empty, status in (({}, 422), (None, 415)):
        story.assert_error(client.put("/v1/admin/test-whitelist", json=empty, headers=ADMIN),
                           status)
    assert story.calls("card/testwhitelist/set") == 1
    cleared = client.put("/v1/admin/test-whitelist", json={"openid": []}, headers=ADMIN)
    assert cleared.status_code == 200 and cleared.json == {"openid": [], "username": []}
