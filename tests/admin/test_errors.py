"""Operator endpoints and commands under bad input: 401 first, one JSON error shape, never a 500;
refusals that are the operator's input say so (404/422, not 502); CLI errors are one line."""

from __future__ import annotations

import json

import pytest

from tests.story import ADMIN

JSON = {"Content-Type": "application/json"}
POSTS = ["/v1/admin/qrcodes", "/v1/admin/landing-pages", "/v1/admin/cards/pX/codes",
         "/v1/admin/cards/pX/codes/check", "/v1/admin/codes/query", "/v1/admin/codes/redeem"]
ENDPOINTS = [("POST", p) for p in POSTS] + [
    ("PUT", "/v1/admin/test-whitelist"), ("GET", "/v1/admin/qrcodes/image"),
    ("GET", "/v1/admin/cards/pX/article-html"), ("GET", "/v1/admin/cards/pX/codes/count"),
    ("GET", "/v1/admin/events"), ("GET", "/v1/admin/stats/channels"),
    ("GET", "/v1/admin/identities"),
]


@pytest.mark.parametrize("method, path", ENDPOINTS)
@pytest.mark.parametrize("auth", [None, "Bearer wrong", "Basic c2FuZGJveA==", "Bearer "])
def test_401_before_anything_else(story, client, method, path, auth):
    headers = {**JSON, **({"Authorization": auth} if auth else {})}
    res = client.open(path, method=method, data=b"{not json", headers=headers,
                      query_string={"url": "ftp://x", "after": "bad"})
    story.assert_error(res, 401)
    assert "errors" not in res.json  # nothing about the endpoint's schema


@pytest.mark.parametrize("path", POSTS)
@pytest.mark.parametrize("body, status", [
    (b"{bad", 400), (b'{"a":"\xff"}', 400), (b"[1,2]", 422), (b"null", 422), (b'"x"', 422),
    (b'{"cards": {"a": 1}, "codes": "x", "code": 1, "banner": []}', 422),
])
def test_bad_json_is_a_clear_4xx(story, client, path, body, status):
    res = client.post(path, data=body, headers={**ADMIN, **JSON})
    err = story.assert_error(res, status)
    assert err.get("errors"), err


@pytest.mark.parametrize("expire", ["1e999", "NaN", "Infinity", str(10**400), "1e308", '"abc"'])
def test_huge_or_odd_numbers_are_422(story, client, expire):
    body = '{"cards": [{"card_id": "c"}], "expire_seconds": ' + expire + "}"
    res = client.post("/v1/admin/qrcodes", data=body, headers={**ADMIN, **JSON})
    story.assert_error(res, 422)
    assert "card/qrcode/create" not in story.calls()


@pytest.mark.parametrize("url", ["http://[::1", "http://x:99999/a", "http://x:port/a",
                                 "http://a\x00b"])
def test_qr_image_of_an_unparsable_url_is_422(story, client, url):
    res = client.get("/v1/admin/qrcodes/image", query_string={"url": url}, headers=ADMIN)
    story.assert_error(res, 422)


@pytest.mark.parametrize("method, path, body", [
    ("POST", "/v1/admin/qrcodes", {"cards": [{"card_id": "pNOPE"}]}),
    ("POST", "/v1/admin/landing-pages", {"banner": "http://b/1.jpg", "page_title": "t",
                                         "can_share": True, "scene": "SCENE_H5",
                                         "card_list": [{"card_id": "pNOPE", "thumb_url": "t"}]}),
    ("GET", "/v1/admin/cards/pNOPE/article-html", None),
    ("POST", "/v1/admin/cards/pNOPE/codes", {"codes": ["1"]}),
    ("GET", "/v1/admin/cards/pNOPE/codes/count", None),
    ("POST", "/v1/admin/cards/pNOPE/codes/check", {"codes": ["1"]}),
])
def test_unknown_card_is_404_not_an_upstream_failure(story, client, method, path, body):
    res = client.open(path, method=method, json=body, headers=ADMIN)
    err = story.assert_error(res, 404)
    assert err["errcode"] == 40073 and "card_id" in err["message"]


def test_whitelist_with_an_openid_wechat_does_not_know_is_404(story, client):
    res = client.put("/v1/admin/test-whitelist", json={"openid": ["o-nobody"]}, headers=ADMIN)
    err = story.assert_error(res, 404)
    assert err["errcode"] == 40003


def test_cli_unknown_card_and_unwritable_files_are_one_line(story, runner, tmp_path):
    res = runner.invoke(args=["codes", "count", "pNOPE"])
    assert res.exit_code == 1
    assert res.stderr.strip() == ("Error: unknown card_id: the Official Account has no such card"
                                  " (errcode 40073)")
    card = story.card()
    res = runner.invoke(args=["qrcode", "create", card, "--png", str(tmp_path / "no" / "q.png")])
    assert res.exit_code == 1 and res.exception is not None
    [line] = res.stderr.strip().splitlines()
    assert line.startswith("Error: No such file or directory") and "q.png" in line
    src = tmp_path / "codes.txt"
    src.write_text("A1\nA2\n")
    before = story.calls("card/code/deposit")
    res = runner.invoke(args=["codes", "import", story.deposit_card(), str(src),
                              "--report", str(tmp_path / "no" / "r.json")])
    assert res.exit_code == 1
    assert res.stderr.strip().splitlines() == [
        f"Error: the report's directory does not exist: {tmp_path / 'no'}"]
    assert story.calls("card/code/deposit") == before  # refused before importing


def test_same_file_read_another_way_is_another_import(story, runner, tmp_path):
    """The checkpoint is the file *and* how it is read: column 2 after column 1 is not a rerun."""
    card = story.deposit_card()
    src = tmp_path / "codes.csv"
    src.write_text("".join(f"A{i},B{i}\n" for i in range(150)))
    for column in ("1", "2"):
        res = runner.invoke(args=["codes", "import", card, str(src), "--csv-column", column,
                                  "--report", str(tmp_path / f"r{column}.json")])
        assert res.exit_code == 0, res.output
        assert "resuming" not in res.stderr
        assert json.loads(res.stdout)["summary"]["succeeded"] == 150
    assert story.calls("card/code/deposit") == 4
    res = runner.invoke(args=["codes", "count", card])
    assert json.loads(res.stdout)["count"] == 300


def test_set_stock_refused_then_rerun_adds_it_once(story, runner, tmp_path):
    card = story.deposit_card()
    src = tmp_path / "codes.txt"
    src.write_text("".join(f"S{i}\n" for i in range(120)))
    args = ["codes", "import", card, str(src), "--set-stock", "--report", str(tmp_path / "r.json")]
    story.fault("card/modifystock", errcode=45030)  # refused: the stock is not added
    res = runner.invoke(args=args)
    assert res.exit_code == 1
    assert res.stderr.strip().splitlines()[-1].startswith("Error: WeChat refused")
    res = runner.invoke(args=args)
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["stock_added"] == 120
    res = runner.invoke(args=args)
    assert res.exit_code == 0 and json.loads(res.stdout)["stock_added"] == 0
