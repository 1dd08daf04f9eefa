"""Card images: POST /v1/admin/images (media/uploadimg), and pictures only from WeChat's host."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest

from tests.catalogue.samples import coupon, member_card_for_mini_program
from tests.story import ADMIN

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x01" * 64
JPG = b"\xff\xd8\xff\xe0" + b"\x02" * 64


@pytest.mark.parametrize("data, mimetype", [(PNG, "image/png"), (JPG, "image/jpeg")])
def test_an_uploaded_image_is_served_and_taken_as_a_logo(story, client, data, mimetype):
    res = story.upload_image(data, "logo.bin")  # the name says nothing: the bytes do
    assert res.status_code == 201, res.get_json()
    url = res.get_json()["url"]
    assert "/sandbox/mmbiz.qpic.cn/mmbiz_" in url and url.endswith("/0")
    served = client.get(urlsplit(url).path)
    assert served.status_code == 200 and served.mimetype == mimetype and served.data == data
    card_id = story.create_card(coupon(logo_url=url))
    assert story.admin_card(card_id)["card"]["groupon"]["base_info"]["logo_url"] == url
    member = member_card_for_mini_program(background_pic_url=url)
    assert story.create_card(member)
    assert story.calls("cgi-bin/media/uploadimg") == 1


@pytest.mark.parametrize("data, status", [
    (b"GIF89a" + b"\x00" * 32, 415),
    (b"<svg xmlns='http://www.w3.org/2000/svg'/>", 415),
    (b"", 422),
    (PNG + b"\x00" * (1024 * 1024), 413),
])
def test_a_file_that_is_not_a_small_jpg_or_png_is_refused_before_any_call(story, data, status):
    story.assert_error(story.upload_image(data), status)
    assert story.calls("cgi-bin/media/uploadimg") == 0


def test_a_body_far_over_the_limit_is_413_and_no_file_part_is_422(story, client):
    story.assert_error(story.upload_image(PNG + b"\x00" * (3 * 1024 * 1024)), 413)
    res = client.post("/v1/admin/images", data=b"--b--\r\n", headers=ADMIN,
                      content_type="multipart/form-data; boundary=b")
    story.assert_error(res, 422)
    assert client.post("/v1/admin/images").status_code == 401
    assert story.calls("cgi-bin/media/uploadimg") == 0


@pytest.mark.parametrize("url", ["https://example.com/logo.png", "ftp://mmbiz.qpic.cn/x",
                                 "http://localhost/sandbox/mmbiz.qpic.cn/mmbiz_gif/x/0"])
def test_a_picture_off_wechats_host_is_refused_in_bff_and_the_sandbox(story, client, url):
    res = client.post("/v1/admin/cards", json=coupon(logo_url=url), headers=ADMIN)
    assert "logo_url" in json.dumps(story.assert_error(res, 422))
    member = member_card_for_mini_program(background_pic_url=url)
    story.assert_error(client.post("/v1/admin/cards", json=member, headers=ADMIN), 422)
    assert story.calls("card/create") == 0
    answer = story.call("/card/create", story.token(), coupon(logo_url=url))
    assert answer["errcode"] == 40005, answer


def test_the_sandbox_refuses_what_wechat_refuses(story):
    token = story.token()
    plain = story.call("/cgi-bin/media/uploadimg", token, {})
    assert plain["errcode"] == 41005


def test_bff_images_upload(story, runner, tmp_path):
    path = tmp_path / "logo.png"
    path.write_bytes(PNG)
    res = runner.invoke(args=["images", "upload", str(path)])
    assert res.exit_code == 0, res.output + res.stderr
    assert "/mmbiz.qpic.cn/mmbiz_png/" in json.loads(res.stdout)["url"]
    path.write_bytes(b"not an image")
    res = runner.invoke(args=["images", "upload", str(path)])
    assert res.exit_code == 1 and "not a JPG or PNG" in res.stderr
    assert story.calls("cgi-bin/media/uploadimg") == 1


def test_a_stray_form_field_is_refused(story, client):
    boundary = "b"
    body = (b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n\r\n"
            + PNG + b"\r\n--b\r\nContent-Disposition: form-data; name=\"extra\"\r\n\r\n42\r\n"
            b"--b--\r\n")
    res = client.post("/v1/admin/images", data=body, headers=ADMIN,
                      content_type=f"multipart/form-data; boundary={boundary}")
    assert "extra" in story.assert_error(res, 422)["errors"]
    assert story.calls("cgi-bin/media/uploadimg") == 0


@pytest.mark.parametrize(("url", "taken"), [
    ("https://x\x85y/mmbiz.qpic.cn/mmbiz_png/b316e3bac891859335088710742487b3/0", True),
    ("https://h/a b/mmbiz.qpic.cn/mmbiz_png/b316e3bac891859335088710742487b3/0", False),
    ("https://mmbiz.qpic.cn/x\x85y", True),
    ("https://mmbiz.qpic.cn:\u0663/x", False),
    ("https://mmbiz.qpic.cn/a b", False),
])
def test_the_service_reads_its_picture_patterns_as_the_spec_does(url, taken):
    """The service checks its patterns (which the spec states) as an ECMAScript engine reads
    them: a value the spec allows is never refused, nor one it refuses taken. The first URL is
    the fuzzer's: \\x85 in the host, which Python's \\s matches and the spec's does not."""
    from bff.domain.images import is_card_image_url

    assert is_card_image_url(url, sandbox=True) is taken


def test_a_picture_url_wechat_does_not_know_is_a_422_not_a_502(story, client):
    """A URL of the sandbox's image shape that is none of its uploads (its image path after a
    "?": found by the fuzzer) passes the pattern; WeChat refuses it (40005), the operator's
    input: 422."""
    url = "https://host/7?/mmbiz.qpic.cn/mmbiz_png/64763165305537730a6110f34d7368ee/0"
    res = client.post("/v1/admin/cards", json=coupon(logo_url=url), headers=ADMIN)
    assert "invalid image url" in json.dumps(story.assert_error(res, 422))
